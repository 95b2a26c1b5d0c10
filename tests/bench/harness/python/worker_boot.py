"""Python SDK worker for Prism's PROCESS environment (see ../README.md).

Prism starts the environment's command as `COMMAND --id=ID --provision_endpoint=HOST:PORT`.
This does what the Python SDK container's boot program (sdks/python/container/boot.go) does,
minus installing staged packages: fetch the provision info, export it the way
sdk_worker_main expects, and run the SDK harness in this process.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_fns


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--id', required=True)
  parser.add_argument('--provision_endpoint', required=True)
  parser.add_argument('--semi_persist_dir', default='/tmp')
  args, _ = parser.parse_known_args()

  import grpc
  from google.protobuf import json_format
  from google.protobuf import text_format
  from apache_beam.portability.api import beam_provision_api_pb2
  from apache_beam.portability.api import beam_provision_api_pb2_grpc

  with grpc.insecure_channel(args.provision_endpoint) as channel:
    stub = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
    info = stub.GetProvisionInfo(
        beam_provision_api_pb2.GetProvisionInfoRequest(),
        metadata=[('worker_id', args.id)]).info

  env = os.environ
  env['WORKER_ID'] = args.id
  env['SEMI_PERSISTENT_DIRECTORY'] = args.semi_persist_dir
  env['PIPELINE_OPTIONS'] = json_format.MessageToJson(info.pipeline_options)
  env['CONTROL_API_SERVICE_DESCRIPTOR'] = text_format.MessageToString(
      info.control_endpoint)
  env['LOGGING_API_SERVICE_DESCRIPTOR'] = text_format.MessageToString(
      info.logging_endpoint)
  if info.HasField('status_endpoint'):
    env['STATUS_API_SERVICE_DESCRIPTOR'] = text_format.MessageToString(
        info.status_endpoint)
  if info.runner_capabilities:
    env['RUNNER_CAPABILITIES'] = ' '.join(info.runner_capabilities)

  from apache_beam.runners.worker import sdk_worker_main
  sdk_worker_main.main(sys.argv)


if __name__ == '__main__':
  main()
