"""`python -m tests.fakeweb [--host 127.0.0.1] [--port 8100]`: serve the fake web until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from tests.fakeweb.server import FakeWeb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeweb", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--port", type=int, default=8100, help="port (0 picks a free one)")
    parser.add_argument("--total", type=int, default=200, help="results each fake search engine has")
    args = parser.parse_args(argv)
    web = FakeWeb(args.host, args.port).start()
    print(f"fake web serving at {web.url}")
    print(f"export IMGJOB_BING_URL={web.bing_url(total=args.total)}")
    print(f"export IMGJOB_GOOGLE_URL={web.google_url(total=args.total)}")
    print(f"export IMGJOB_DUCKDUCKGO_URL={web.duckduckgo_url(total=args.total)}")
    print(f"export IMGJOB_BRAVE_URL={web.brave_url(total=args.total)}")
    print("export IMGJOB_SEARCH_PROVIDERS=bing IMGJOB_ALLOW_PRIVATE_NETWORKS=true")
    print("Ctrl-C to stop", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
