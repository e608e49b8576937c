"""A short Ray driver for the ant-ray tier (outside any virtual cluster); prints ``RESULT <json>``.

    python ar_driver.py --address 127.0.0.1:PORT request '[{"team-a": 1}, {"team-b": 1}]'
    python ar_driver.py --address 127.0.0.1:PORT nodes
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, List

import ray
from ray.autoscaler.sdk import request_resources


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="ar_driver.py")
    parser.add_argument("--address", required=True)
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("request", help="ask the autoscaler to keep room for these bundles ([] lets go)")
    p.add_argument("bundles")
    sub.add_parser("nodes", help="every node GCS knows, with its resources")
    args = parser.parse_args(argv)

    ray.init(address=args.address, log_to_driver=False, logging_level="WARNING")
    try:
        result: Any
        if args.what == "request":
            request_resources(bundles=json.loads(args.bundles))
            result = "requested"
        else:
            result = [{"node_id": n["NodeID"], "alive": bool(n["Alive"]), "resources": n.get("Resources", {})}
                      for n in ray.nodes()]
    finally:
        ray.shutdown()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
