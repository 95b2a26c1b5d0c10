// pubsub_peer: a Pub/Sub emulator for beam-c's tests, built on cloud.google.com/go/pubsub's
// pstest (an in-memory Pub/Sub server speaking the real gRPC API).
//
// It listens on a free loopback port, creates each -topic with a subscription
// "<topic>-sub" on it, prints "PORT=<n>" on stdout, then serves until its standard input
// ends or it gets SIGTERM/SIGINT (or -timeout passes). Then it pulls every subscription dry
// and writes what a subscriber received to -out as JSON lines
// {"subscription","message_id","data","attributes","ordering_key"}, and a summary of the
// Publish requests to -stats.
//
// pstest accepts requests the real service refuses; this peer refuses them too, with
// INVALID_ARGUMENT as Pub/Sub does: more than 1000 messages or 10 MB in one request, mixed
// ordering keys in one request, empty messages, server-owned fields set by the publisher,
// attribute keys over 256 bytes or values over 1024, ordering keys over 1024 bytes.
// -fail-publish N answers the first N Publish calls with UNAVAILABLE (a retry test);
// -down-topic T answers every Publish to topic id T with UNAVAILABLE (retries must end).
// -tls-cert-out FILE also serves the Publisher over TLS, as the real service does, with a
// self-signed certificate for localhost (written to FILE, PEM) and a required
// "authorization: Bearer <-token>" header; it prints "TLS_PORT=<n>".
// -batch-streaming-pull also serves pstest on a second port whose StreamingPull hands out up
// to 1000 messages a response (batch_pull.go); it prints "BATCH_PORT=<n>".
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

type publishRules struct {
	mu           sync.Mutex
	failLeft     int
	downTopic    string // full name; "" for none
	injected     int
	requests     int
	messages     int
	maxMessages  int
	maxBytes     int
	orderingKeys map[string]bool
	violations   []string
}

func (r *publishRules) check(req *pb.PublishRequest) error {
	if n := len(req.Messages); n == 0 || n > 1000 {
		return fmt.Errorf("a publish request holds 1 to 1000 messages, got %d", n)
	}
	if size := proto.Size(req); size > 10*1000*1000 {
		return fmt.Errorf("publish request is %d bytes, over 10 MB", size)
	}
	key := req.Messages[0].OrderingKey
	for i, m := range req.Messages {
		if m.OrderingKey != key {
			return fmt.Errorf("message %d: ordering key %q differs from %q in the same request", i, m.OrderingKey, key)
		}
		if len(m.Data) == 0 && len(m.Attributes) == 0 {
			return fmt.Errorf("message %d has neither data nor attributes", i)
		}
		if m.MessageId != "" || m.PublishTime != nil {
			return fmt.Errorf("message %d sets message_id or publish_time (server-owned)", i)
		}
		if len(m.Attributes) > 100 {
			return fmt.Errorf("message %d has %d attributes, over 100", i, len(m.Attributes))
		}
		for k, v := range m.Attributes {
			if len(k) == 0 || len(k) > 256 || len(v) > 1024 {
				return fmt.Errorf("message %d: attribute %q: key 1-256 bytes, value at most 1024", i, k)
			}
		}
		if len(m.OrderingKey) > 1024 {
			return fmt.Errorf("message %d: ordering key over 1024 bytes", i)
		}
	}
	return nil
}

// React runs before pstest's own Publish; handled=false lets pstest publish.
func (r *publishRules) React(x interface{}) (bool, interface{}, error) {
	req, ok := x.(*pb.PublishRequest)
	if !ok {
		return false, nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.downTopic != "" && req.Topic == r.downTopic {
		r.injected++
		return true, nil, status.Error(codes.Unavailable, "pubsub_peer: this topic is down")
	}
	if r.failLeft > 0 {
		r.failLeft--
		r.injected++
		return true, nil, status.Error(codes.Unavailable, "pubsub_peer: injected failure, try again")
	}
	if err := r.check(req); err != nil {
		r.violations = append(r.violations, err.Error())
		return true, nil, status.Error(codes.InvalidArgument, err.Error())
	}
	r.requests++
	r.messages += len(req.Messages)
	if len(req.Messages) > r.maxMessages {
		r.maxMessages = len(req.Messages)
	}
	if size := proto.Size(req); size > r.maxBytes {
		r.maxBytes = size
	}
	r.orderingKeys[req.Messages[0].OrderingKey] = true
	return false, nil, nil
}

// denySubscription answers GetSubscription on one subscription with PERMISSION_DENIED, as the
// service does for a caller without roles/pubsub.subscriber on it (pstest grants everything).
type denySubscription struct{ name string }

func (d *denySubscription) React(x interface{}) (bool, interface{}, error) {
	req, ok := x.(*pb.GetSubscriptionRequest)
	if !ok || d.name == "" || req.Subscription != d.name {
		return false, nil, nil
	}
	return true, nil, status.Error(codes.PermissionDenied, "User not authorized to perform this action.")
}

type received struct {
	Subscription string            `json:"subscription"`
	MessageID    string            `json:"message_id"`
	Data         string            `json:"data"`
	Attributes   map[string]string `json:"attributes"`
	OrderingKey  string            `json:"ordering_key"`
}

// drain pulls a subscription until it is empty, acknowledging what it got.
func drain(ctx context.Context, srv *pstest.Server, sub string, w *bufio.Writer) (int, error) {
	n := 0
	for {
		resp, err := srv.GServer.Pull(ctx, &pb.PullRequest{Subscription: sub, MaxMessages: 1000, ReturnImmediately: true})
		if err != nil {
			return n, err
		}
		if len(resp.ReceivedMessages) == 0 {
			return n, nil
		}
		var acks []string
		for _, rm := range resp.ReceivedMessages {
			m := rm.Message
			line, err := json.Marshal(received{sub, m.MessageId, string(m.Data), m.Attributes, m.OrderingKey})
			if err != nil {
				return n, err
			}
			w.Write(line)
			w.WriteByte('\n')
			acks = append(acks, rm.AckId)
			n++
		}
		if _, err := srv.GServer.Acknowledge(ctx, &pb.AcknowledgeRequest{Subscription: sub, AckIds: acks}); err != nil {
			return n, err
		}
	}
}

// serveTLS serves pstest's Publisher over TLS on a free loopback port, requiring the token.
func serveTLS(gs *pstest.GServer, certOut, token string) (*grpc.Server, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(certOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, "", err
	}
	creds := credentials.NewServerTLSFromCert(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})
	auth := func(ctx context.Context, req interface{}, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (interface{}, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+token {
			return nil, status.Error(codes.Unauthenticated, "pubsub_peer: missing or wrong bearer token")
		}
		return h(ctx, req)
	}
	s := grpc.NewServer(grpc.Creds(creds), grpc.UnaryInterceptor(auth))
	pb.RegisterPublisherServer(s, gs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	go s.Serve(lis)
	_, port, err := net.SplitHostPort(lis.Addr().String())
	return s, port, err
}

func main() {
	project := flag.String("project", "beam-c-test", "project id of the topics")
	topics := flag.String("topic", "rows", "comma-separated topic ids to create, each with a subscription <topic>-sub")
	out := flag.String("out", "", "where to write the received messages (JSON lines)")
	stats := flag.String("stats", "", "where to write the publish summary (JSON)")
	failPublish := flag.Int("fail-publish", 0, "answer the first N Publish calls with UNAVAILABLE")
	downTopic := flag.String("down-topic", "", "a topic id whose publishes always fail with UNAVAILABLE")
	port := flag.Int("port", 0, "loopback port to listen on (0: a free one)")
	timeout := flag.Duration("timeout", 10*time.Minute, "stop by itself after this long")
	tlsCertOut := flag.String("tls-cert-out", "", "also serve TLS; write its self-signed certificate here")
	token := flag.String("token", "test-token", "the bearer token the TLS endpoint requires")
	batchPull := flag.Bool("batch-streaming-pull", false, "also serve a StreamingPull that batches (BATCH_PORT=)")
	denied := flag.String("deny-subscription", "", "a subscription id (created) whose GetSubscription is PERMISSION_DENIED")
	flag.Parse()
	log.SetPrefix("pubsub_peer: ")
	log.SetFlags(0)

	rules := &publishRules{failLeft: *failPublish, orderingKeys: map[string]bool{}}
	if *downTopic != "" {
		rules.downTopic = fmt.Sprintf("projects/%s/topics/%s", *project, *downTopic)
	}
	deny := &denySubscription{}
	if *denied != "" {
		deny.name = fmt.Sprintf("projects/%s/subscriptions/%s", *project, *denied)
	}
	srv := pstest.NewServerWithAddress(fmt.Sprintf("127.0.0.1:%d", *port),
		pstest.ServerReactorOption{FuncName: "Publish", Reactor: rules},
		pstest.ServerReactorOption{FuncName: "GetSubscription", Reactor: deny})
	defer srv.Close()
	ctx := context.Background()
	var subs []string
	for _, t := range strings.Split(*topics, ",") {
		name := fmt.Sprintf("projects/%s/topics/%s", *project, t)
		if _, err := srv.GServer.CreateTopic(ctx, &pb.Topic{Name: name}); err != nil {
			log.Fatalf("creating %s: %v", name, err)
		}
		sub := fmt.Sprintf("projects/%s/subscriptions/%s-sub", *project, t)
		if _, err := srv.GServer.CreateSubscription(ctx, &pb.Subscription{Name: sub, Topic: name, AckDeadlineSeconds: 600}); err != nil {
			log.Fatalf("creating %s: %v", sub, err)
		}
		subs = append(subs, sub)
	}
	_, listening, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		log.Fatalf("address %s: %v", srv.Addr, err)
	}
	if *tlsCertOut != "" {
		tlsSrv, tlsPort, err := serveTLS(&srv.GServer, *tlsCertOut, *token)
		if err != nil {
			log.Fatalf("TLS endpoint: %v", err)
		}
		defer tlsSrv.Stop()
		fmt.Printf("TLS_PORT=%s\n", tlsPort)
	}
	if *batchPull {
		batchSrv, batchPort, err := serveBatchPull(&srv.GServer)
		if err != nil {
			log.Fatalf("batch StreamingPull endpoint: %v", err)
		}
		defer batchSrv.Stop()
		fmt.Printf("BATCH_PORT=%s\n", batchPort)
	}
	fmt.Printf("PORT=%s\n", listening)
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	eof := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-stop:
	case <-eof:
	case <-time.After(*timeout):
		log.Printf("no stop request within %s; dumping and exiting", *timeout)
	}

	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for _, sub := range subs {
			if _, err := drain(ctx, srv, sub, w); err != nil {
				log.Fatalf("pulling %s: %v", sub, err)
			}
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	if *stats != "" {
		rules.mu.Lock()
		keys := len(rules.orderingKeys)
		summary := map[string]interface{}{
			"requests": rules.requests, "messages": rules.messages, "max_messages": rules.maxMessages,
			"max_bytes": rules.maxBytes, "injected_failures": rules.injected, "violations": rules.violations,
			"ordering_keys": keys, "published": len(srv.Messages()),
		}
		rules.mu.Unlock()
		text, _ := json.Marshal(summary)
		if err := os.WriteFile(*stats, append(text, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
