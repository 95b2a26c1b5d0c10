package main

// A StreamingPull served from pstest's unary Pull, for the streaming benchmark
// (tests/bench/run_stream_bench.sh). pstest's own StreamingPull hands each stream one message
// per 10 ms tick (an unbuffered channel, tried once a tick), so a consumer reading it measures
// that pace, not itself. This one answers a stream with what Pull returns, up to 1000 messages
// a response, within the stream's max_outstanding_messages (counted per subscription: acks
// and nacks end a message's count whether they come on the stream or as Acknowledge /
// ModifyAckDeadline calls); the stream's acks and ack-deadline changes go to pstest as those
// calls. Everything else is pstest's own.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

type batchSubscriber struct {
	*pstest.GServer
	mu   sync.Mutex
	held map[string]*outstanding // by subscription
}

func (b *batchSubscriber) heldOf(sub string) *outstanding {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.held[sub]
	if o == nil {
		o = &outstanding{ids: map[string]bool{}}
		b.held[sub] = o
	}
	return o
}

func (b *batchSubscriber) Acknowledge(ctx context.Context, req *pb.AcknowledgeRequest) (*emptypb.Empty, error) {
	res, err := b.GServer.Acknowledge(ctx, req)
	if err == nil {
		b.heldOf(req.Subscription).set(req.AckIds, false)
	}
	return res, err
}

func (b *batchSubscriber) ModifyAckDeadline(ctx context.Context, req *pb.ModifyAckDeadlineRequest) (*emptypb.Empty, error) {
	res, err := b.GServer.ModifyAckDeadline(ctx, req)
	if err == nil && req.AckDeadlineSeconds == 0 {
		b.heldOf(req.Subscription).set(req.AckIds, false)
	}
	return res, err
}

// outstanding counts the messages a stream was handed and has not acked or given back.
type outstanding struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (o *outstanding) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.ids)
}

func (o *outstanding) set(ids []string, held bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, id := range ids {
		if held {
			o.ids[id] = true
		} else {
			delete(o.ids, id)
		}
	}
}

// apply passes a request's acks and deadline changes to pstest.
func (b *batchSubscriber) apply(ctx context.Context, sub string, req *pb.StreamingPullRequest) error {
	if len(req.AckIds) > 0 {
		if _, err := b.Acknowledge(ctx, &pb.AcknowledgeRequest{Subscription: sub, AckIds: req.AckIds}); err != nil {
			return err
		}
	}
	bySeconds := map[int32][]string{}
	for i, id := range req.ModifyDeadlineAckIds {
		if i < len(req.ModifyDeadlineSeconds) {
			bySeconds[req.ModifyDeadlineSeconds[i]] = append(bySeconds[req.ModifyDeadlineSeconds[i]], id)
		}
	}
	for secs, ids := range bySeconds {
		if _, err := b.ModifyAckDeadline(ctx, &pb.ModifyAckDeadlineRequest{Subscription: sub, AckIds: ids, AckDeadlineSeconds: secs}); err != nil {
			return err
		}
	}
	return nil
}

func (b *batchSubscriber) StreamingPull(stream pb.Subscriber_StreamingPullServer) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	sub := first.Subscription
	if _, err := b.GetSubscription(ctx, &pb.GetSubscriptionRequest{Subscription: sub}); err != nil {
		return err
	}
	limit := int(first.MaxOutstandingMessages)
	if limit <= 0 {
		limit = 1000
	}
	held := b.heldOf(sub)
	if err := b.apply(ctx, sub, first); err != nil {
		return err
	}
	recvErr := make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
			if err == nil {
				err = b.apply(ctx, sub, req)
			}
			if err != nil {
				recvErr <- err
				return
			}
		}
	}()
	for {
		select {
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		room := limit - held.count()
		if room > 1000 {
			room = 1000
		}
		var got []*pb.ReceivedMessage
		if room > 0 {
			resp, err := b.Pull(ctx, &pb.PullRequest{Subscription: sub, MaxMessages: int32(room), ReturnImmediately: true})
			if err != nil {
				return err
			}
			got = resp.ReceivedMessages
		}
		if len(got) == 0 {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		res := &pb.StreamingPullResponse{}
		ids := make([]string, len(got))
		for i, m := range got {
			// pstest keeps these and changes their ack id on redelivery: send copies
			c := proto.Clone(m).(*pb.ReceivedMessage)
			res.ReceivedMessages = append(res.ReceivedMessages, c)
			ids[i] = c.AckId
		}
		held.set(ids, true)
		if err := stream.Send(res); err != nil {
			return err
		}
	}
}

// serveBatchPull serves pstest with the batching StreamingPull on a free loopback port.
func serveBatchPull(gs *pstest.GServer) (*grpc.Server, string, error) {
	s := grpc.NewServer()
	pb.RegisterPublisherServer(s, gs)
	pb.RegisterSubscriberServer(s, &batchSubscriber{GServer: gs, held: map[string]*outstanding{}})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go s.Serve(lis)
	_, port, err := net.SplitHostPort(lis.Addr().String())
	return s, port, err
}
