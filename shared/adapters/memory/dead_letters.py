"""Where the embedded bus keeps its dead letters: a folder of JSON files, so that `imgjob deadletters`
(another process) can list them and ask the running `imgjob up` to replay them."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from shared.ports.bus import DeadLetter

# Files moved here are replayed by the bus of the process that consumes their queue.
REPLAY_FOLDER = "replay"


class DeadLetterSpool:
    """Dead letters as `<folder>/<message id>.json` ({"queue", "body"}); in memory when folder is None."""

    def __init__(self, folder: Path | None) -> None:
        self._folder = folder
        self._kept: dict[str, DeadLetter] = {}
        self._lock = threading.Lock()

    def keep(self, letter: DeadLetter) -> None:
        with self._lock:
            self._kept[letter.message_id] = letter
        if self._folder is not None:
            self._write(self._folder / f"{letter.message_id}.json", letter)

    def letters(self, limit: int) -> list[DeadLetter]:
        if self._folder is None:
            with self._lock:
                return list(self._kept.values())[:limit]
        return [self._read(path) for path in self._files(self._folder)][:limit]

    def take(self, message_id: str | None) -> list[DeadLetter]:
        """Remove and return the dead letter `message_id` (every one if None)."""
        taken = [letter for letter in self.letters(1_000_000) if message_id in (None, letter.message_id)]
        with self._lock:
            for letter in taken:
                self._kept.pop(letter.message_id, None)
        if self._folder is not None:
            for letter in taken:
                (self._folder / f"{letter.message_id}.json").unlink(missing_ok=True)
        return taken

    def ask_replay(self, letter: DeadLetter) -> None:
        """For a letter whose queue this process does not consume: the consuming process replays it."""
        if self._folder is not None:
            self._write(self._folder / REPLAY_FOLDER / f"{letter.message_id}.json", letter)

    def replay_requests(self, queues: set[str]) -> list[DeadLetter]:
        """Replays other processes asked for, for queues this process consumes; removed once read."""
        if self._folder is None:
            return []
        found = []
        for path in self._files(self._folder / REPLAY_FOLDER):
            letter = self._read(path)
            if letter.queue in queues:
                path.unlink(missing_ok=True)
                found.append(letter)
        return found

    @staticmethod
    def _files(folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.glob("*.json")), key=lambda p: (p.stat().st_mtime_ns, p.name))

    @staticmethod
    def _write(path: Path, letter: DeadLetter) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(".part")
        temp.write_text(json.dumps({"queue": letter.queue, "body": letter.body.decode("utf-8", "replace")}))
        os.replace(temp, path)

    @staticmethod
    def _read(path: Path) -> DeadLetter:
        data = json.loads(path.read_text())
        return DeadLetter.of(str(data["queue"]), str(data["body"]).encode(), path.stem)
