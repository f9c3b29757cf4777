"""Benchmark: the packager against the usual way of downloading images, side by side in one run.

The fake web's images (tests/fakeweb/images.py) are served from a process of its own, one server per
loopback address (127.0.0.2, 127.0.0.3, ...: Linux routes all of 127.0.0.0/8 to the loopback
interface), with 100 ms of latency added to every image, over keep-alive connections as image CDNs
do (see bench/_packager_server.py; `--werkzeug` uses the tests' server instead). The images are
spread over those hosts, and then:

1. a sequential `requests.get` loop saves each image to a file (the baseline);
2. the packager (its real handler, on the embedded adapters in a process of its own) downloads,
   verifies, stores and zips the same images, on the file store and then on MinIO (`make infra-up`);
   the ratio is the speed-up;
3. the packager does the same for images of 4 MB each; its peak RSS is the memory figure.

Targets (issue 12): within twice the latency bound (500 images in rounds of 64 connections, 100 ms
each: 0.8 s), so at least 33 times faster than the loop; under 250 MB peak RSS at 4 MB per image.
Exits 1 if a target is missed.

    python bench/bench_packager.py [--images 500] [--hosts 10] [--blob-url s3://... ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from _stack import machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEED_TARGET = 33.0
MINIO_URL = "s3://minioadmin:minioadmin@127.0.0.1:9000/imgjob-bench?secure=false"
RSS_TARGET_MB = 250.0


@dataclass(frozen=True)
class Run:
    seconds: float
    report: dict[str, Any]
    max_rss_kb: int  # from the kernel's accounting of the child (wait4), not from the child itself


def start_servers(addresses: list[str], werkzeug: bool = False) -> tuple[subprocess.Popen[str], dict[str, int]]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_packager_server.py"), *(["--werkzeug"] if werkzeug else []), *addresses],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line:
        server.kill()
        raise SystemExit("the fake image server did not start")
    return server, {str(k): int(v) for k, v in json.loads(line).items()}


def image_urls(ports: dict[str, int], count: int, kb: int, latency_ms: int) -> list[str]:
    hosts = sorted(ports)
    return [
        f"http://{host}:{ports[host]}/img/{n}.jpg?latency_ms={latency_ms}&pad_kb={kb}&chunk_kb=64"
        for n, host in ((n, hosts[n % len(hosts)]) for n in range(1, count + 1))
    ]


def warm_up(urls: list[str]) -> None:
    """Have the server draw and pad every image once (it keeps them, as a CDN's edge cache does), so
    neither contender pays for it: `urls` are the images without their latency."""
    with ThreadPoolExecutor(8) as pool:
        for response in pool.map(lambda url: requests.get(url, timeout=30), urls):
            response.raise_for_status()


def sequential_loop(urls: list[str], target: Path) -> float:
    """What such services usually do: one `requests.get` after the other, each saved to a file."""
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for i, url in enumerate(urls, 1):
        response = requests.get(url, timeout=60)
        response.raise_for_status()
        (target / f"{i:04d}.jpg").write_bytes(response.content)
    return time.perf_counter() - started


def run_packager(urls: list[str], work: Path, blob_url: str | None) -> Run:
    work.mkdir(parents=True, exist_ok=True)
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(urls))
    args = [sys.executable, str(HERE / "_packager_run.py"), str(urls_file), str(work)]
    if blob_url:
        args.append(blob_url)
    started = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0 or not output.strip():
        raise SystemExit(f"the packager run failed (exit {child.returncode}) after {wall:.1f} s")
    report = json.loads(output.strip().splitlines()[-1])
    return Run(seconds=float(report["seconds"]), report=report, max_rss_kb=usage.ru_maxrss)


def check_complete(run: Run, count: int, label: str) -> None:
    report = run.report
    if report["status"] != "ready" or report["images"] != count or report["failed"]:
        raise SystemExit(f"{label}: the job did not package every image: {report}")
    if report["zip_entries"] not in (0, count):  # 0: not counted (the zip is in S3)
        raise SystemExit(f"{label}: the zip holds {report['zip_entries']} images, not {count}")


def mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=10, help="loopback addresses to spread the images over")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--kb", type=int, default=150, help="image size for the speed comparison")
    parser.add_argument("--big-kb", type=int, default=4096, help="image size for the memory run")
    parser.add_argument("--skip-memory", action="store_true", help="only the speed comparison")
    parser.add_argument(
        "--blob-url",
        action="append",
        help=f"object storage for the packager, repeatable (default: a temporary directory, then {MINIO_URL})",
    )
    parser.add_argument(
        "--werkzeug", action="store_true", help="serve with the fake web's Werkzeug server (no keep-alive)"
    )
    args = parser.parse_args(argv)
    stores: list[str | None] = list(args.blob_url) if args.blob_url else [None, MINIO_URL]

    addresses = [f"127.0.0.{2 + i}" for i in range(args.hosts)]
    server, ports = start_servers(addresses, args.werkzeug)
    runs: list[tuple[str, Run, Run | None]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="imgjob-bench-") as temp:
            work = Path(temp)
            urls = image_urls(ports, args.images, args.kb, args.latency_ms)
            warm_up(image_urls(ports, args.images, args.kb, 0))
            baseline = sequential_loop(urls, work / "sequential")
            for n, store in enumerate(stores):
                where = "MinIO" if store and store.startswith("s3://") else "files"
                fast = run_packager(urls, work / f"speed-{n}", store)
                check_complete(fast, args.images, f"speed run on {where}")
                big = None
                if not args.skip_memory:
                    big_urls = image_urls(ports, args.images, args.big_kb, args.latency_ms)
                    big = run_packager(big_urls, work / f"big-{n}", store)
                    check_complete(big, args.images, f"memory run on {where}")
                runs.append((where, fast, big))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)

    n = args.images
    # The latency bound: rounds of IMGJOB_DOWNLOAD_CONCURRENCY (64) images, one latency each.
    bound = math.ceil(n / 64) * args.latency_ms / 1000
    print(f"packager benchmark: {n} images over {args.hosts} loopback hosts, {args.latency_ms} ms added latency each")
    served = "Werkzeug, a connection per request" if args.werkzeug else "HTTP/1.1 with keep-alive"
    print(f"image server: {served}; {machine()}")
    print(f"{'':40}{'seconds':>9}{'images/s':>10}{'speed-up':>10}{'peak RSS':>10}")
    print(f"{'sequential requests.get loop':40}{baseline:9.2f}{n / baseline:10.1f}{'1x':>10}{'-':>10}")
    print(f"{'latency bound at 64 connections':40}{bound:9.2f}{n / bound:10.1f}{baseline / bound:9.0f}x{'-':>10}")
    ok = True
    for where, fast, big in runs:
        ratio = baseline / fast.seconds
        label = f"packager, {n} x {args.kb} KB, {where}"
        print(f"{label:40}{fast.seconds:9.2f}{n / fast.seconds:10.1f}{ratio:9.1f}x{mb(fast.max_rss_kb):>10}")
        ok = ok and ratio >= SPEED_TARGET and fast.seconds <= 2 * bound
        if big is not None:
            label = f"packager, {n} x {args.big_kb // 1024} MB, {where}"
            speed = baseline / big.seconds
            print(f"{label:40}{big.seconds:9.2f}{n / big.seconds:10.1f}{speed:9.1f}x{mb(big.max_rss_kb):>10}")
            ok = ok and big.max_rss_kb / 1024 < RSS_TARGET_MB
    print("baseline (main before issue 12): 2.1 s for 500 images over 10 hosts, 24x the loop")
    print(
        f"targets: within 2x the latency bound ({2 * bound:.2f} s) and >= {SPEED_TARGET:.0f}x the loop; "
        f"peak RSS < {RSS_TARGET_MB:.0f} MB at {args.big_kb // 1024} MB per image: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
