"""Checks a Pipeline proto written by beam-c with apache-beam's own generated protos."""
import json
import sys

from apache_beam.portability.api import beam_runner_api_pb2 as rapi

p = rapi.Pipeline()
p.ParseFromString(open(sys.argv[1], "rb").read())
c = p.components
problems = []
for tid in p.root_transform_ids:
    if tid not in c.transforms:
        problems.append(f"root transform {tid} missing")
for tid, t in c.transforms.items():
    for pc in list(t.inputs.values()) + list(t.outputs.values()):
        if pc not in c.pcollections:
            problems.append(f"{tid}: PCollection {pc} missing")
    for sub in t.subtransforms:
        if sub not in c.transforms:
            problems.append(f"{tid}: subtransform {sub} missing")
    if t.spec.urn == "beam:transform:pardo:v1":
        pardo = rapi.ParDoPayload.FromString(t.spec.payload)
        if pardo.do_fn.urn != "beam:dofn:c:v1":
            problems.append(f"{tid}: do_fn urn {pardo.do_fn.urn}")
        payload = json.loads(pardo.do_fn.payload)
        if not payload.get("fn"):
            problems.append(f"{tid}: DoFn payload names no function")
        if t.environment_id not in c.environments:
            problems.append(f"{tid}: environment {t.environment_id!r} missing")
for pid, pc in c.pcollections.items():
    if pc.coder_id not in c.coders:
        problems.append(f"{pid}: coder {pc.coder_id} missing")
    if pc.windowing_strategy_id not in c.windowing_strategies:
        problems.append(f"{pid}: windowing strategy missing")
for cid, coder in c.coders.items():
    for comp in coder.component_coder_ids:
        if comp not in c.coders:
            problems.append(f"coder {cid}: component {comp} missing")
for wid, ws in c.windowing_strategies.items():
    if ws.window_coder_id not in c.coders:
        problems.append(f"windowing {wid}: window coder missing")
pardos = sum(t.spec.urn == "beam:transform:pardo:v1" for t in c.transforms.values())
for p_ in problems:
    print("problem:", p_)
print(f"pipeline_proto: {len(c.transforms)} transforms ({pardos} C ParDos), {len(c.pcollections)} PCollections, "
      f"{len(c.coders)} coders: {len(problems)} problems")
sys.exit(1 if problems else 0)
