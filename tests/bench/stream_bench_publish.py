"""Publishes the streaming benchmark's messages to a topic of the emulator (PUBSUB_EMULATOR_HOST)
and records, per message, its message id and when it was published.

  stream_bench_publish.py TOPIC COUNT OUT [--rate R]
  stream_bench_publish.py --create TOPIC...   (each topic and a subscription <topic>-sub on it)

TOPIC: projects/P/topics/T. Without --rate, COUNT messages as fast as the emulator takes them,
1000 a request (a backlog); with --rate, R messages a second, sent every 10 ms in requests of
what is due (load at a steady rate). Each message is a JSON event (event_id, event_type,
amount, ts); one in 12 has a negative amount (the spec's filter drops it). OUT gets one line per
message: message_id, event_id, the time the Publish request was sent and the time its response
came back (Unix ns). The server sets the publish time while it handles the request, so it lies
between the two; the benchmark takes the send time (latency is never understated).
"""
import json
import os
import sys
import time

import grpc
from google.pubsub_v1.types import pubsub as pubsub_types

PublishRequest = pubsub_types.PublishRequest.pb()
PublishResponse = pubsub_types.PublishResponse.pb()
PubsubMessage = pubsub_types.PubsubMessage.pb()
Topic = pubsub_types.Topic.pb()
Subscription = pubsub_types.Subscription.pb()
KINDS = ["Order", "click", "View "]


def event(i):
    amount = -1.0 if i % 12 == 11 else round(i * 0.25 % 1000, 2)
    return json.dumps({"event_id": f"e{i}", "event_type": KINDS[i % 3], "amount": amount,
                       "ts": "2026-11-01T00:00:00Z"}).encode()


def create(channel, topics):
    """Google's emulator starts empty (pubsub_peer creates its topics itself)."""
    create_topic = channel.unary_unary("/google.pubsub.v1.Publisher/CreateTopic",
                                       request_serializer=Topic.SerializeToString, response_deserializer=Topic.FromString)
    create_sub = channel.unary_unary("/google.pubsub.v1.Subscriber/CreateSubscription",
                                     request_serializer=Subscription.SerializeToString,
                                     response_deserializer=Subscription.FromString)
    for t in topics:
        create_topic(Topic(name=t), timeout=60)
        create_sub(Subscription(name=t.replace("/topics/", "/subscriptions/") + "-sub", topic=t,
                                ack_deadline_seconds=10), timeout=60)


def main():
    args = sys.argv[1:]
    channel = grpc.insecure_channel(os.environ["PUBSUB_EMULATOR_HOST"])
    if args and args[0] == "--create":
        create(channel, args[1:])
        return
    rate = None
    if "--rate" in args:
        k = args.index("--rate")
        rate = float(args[k + 1])
        del args[k:k + 2]
    topic, count, out = args[0], int(args[1]), args[2]
    publish = channel.unary_unary("/google.pubsub.v1.Publisher/Publish",
                                  request_serializer=PublishRequest.SerializeToString,
                                  response_deserializer=PublishResponse.FromString)
    lines = []
    sent = 0
    start = time.monotonic()
    while sent < count:
        if rate is None:
            n = min(1000, count - sent)
        else:
            due = min(count, int((time.monotonic() - start) * rate) + 1)
            n = min(1000, due - sent)
            if n <= 0:
                time.sleep(0.01 - (time.monotonic() - start) % 0.01)
                continue
        req = PublishRequest(topic=topic, messages=[PubsubMessage(data=event(i)) for i in range(sent, sent + n)])
        t0 = time.time_ns()
        resp = publish(req, timeout=60)
        t1 = time.time_ns()
        for j, mid in enumerate(resp.message_ids):
            lines.append(f"{mid}\te{sent + j}\t{t0}\t{t1}\n")
        sent += n
    with open(out, "w") as f:
        f.writelines(lines)
    took = time.monotonic() - start
    print(f"published {count} messages in {took:.2f} s ({count / took:.0f}/s)", file=sys.stderr)


if __name__ == "__main__":
    main()
