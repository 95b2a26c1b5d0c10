#!/usr/bin/env python3
"""Serves Beam's own in-memory BeamFnState service (the Python FnApiRunner's StateServicer)
on a free loopback port with continuation tokens switched on, so every read comes back in
pages (an empty first page, then one page per appended blob). Prints "listening on port N",
serves until stdin closes or TIMEOUT seconds pass.

Usage: state_servicer.py [TIMEOUT]  (run by state_continuation.sh)
"""
import sys
import threading
from concurrent import futures

import grpc
from apache_beam.portability.api import beam_fn_api_pb2_grpc
from apache_beam.runners.portability.fn_api_runner import worker_handlers


def main():
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    state = worker_handlers.StateServicer()
    # Off by default in the runner; its own tests switch it on the same way.
    state._use_continuation_tokens = True
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    beam_fn_api_pb2_grpc.add_BeamFnStateServicer_to_server(worker_handlers.GrpcStateServicer(state), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("listening on port %d" % port, flush=True)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    done.wait(timeout)
    server.stop(0)


if __name__ == "__main__":
    main()
