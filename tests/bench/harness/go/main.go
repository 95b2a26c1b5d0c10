// Harness throughput benchmark, Go SDK version (see ../README.md).
//
// Pipeline (identical in the C, Go and Python versions):
//
//	Impulse -> ParDo "Generate" (emits int64 0..N-1) -> ParDo "AddOne" (x+1)
//	        -> ParDo "Double" (x*2) -> ParDo "Sum" (keeps x%3 != 0, counts and sums them;
//	           at FinishBundle adds the totals to the user counters bench/kept and bench/sum
//	           and emits one KV<int64,int64> (kept, sum))
//	        -> GroupByKey -> ParDo "Check" (logs the one record)
//
// No GroupByKey on the per-element path: Prism fuses Generate..Sum into one stage, so the
// job's first stage is one bundle that measures per-element SDK overhead. The single record
// through the GroupByKey only gives that stage a data output: Prism v2.67.0 busy-polls (a
// whole core) for the whole bundle when a stage has no data outputs (see ../README.md).
//
// The same binary is the launcher and the worker:
//
//	launcher: harness_bench_go --elements=N --runner=universal --endpoint=HOST:PORT
//	          [--environment_type=PROCESS]   (default; environment_config defaults to this binary)
//	worker:   started by Prism's PROCESS environment as
//	          harness_bench_go --id=ID --provision_endpoint=HOST:PORT
//	          (this file does what the Go SDK container's boot program does: fetch the
//	          provision info, then hand over to the Go SDK harness in this same process).
//
// The worker writes these lines to stderr (Prism copies them to its own stderr):
//
//	beam-bench worker: event=first_element sdk=go pid=P t_boot_s=T since_start_ms=MS cpu_s=C
//	beam-bench worker: event=finish sdk=go pid=P t_boot_s=T cpu_s=C kept=K sum=S
//	beam-bench worker: event=checksum sdk=go pid=P kept=K sum=S
//
// t_boot_s is CLOCK_BOOTTIME; since_start_ms is that minus the process start time from
// /proc/self/stat (10 ms resolution); cpu_s is user+sys of the whole process (getrusage).
// The launcher prints "beam-bench launcher: sdk=go elements=N kept=K sum=S" from the job's
// committed metrics.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/container/tools"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/grpcx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"golang.org/x/sys/unix"
)

var (
	elements          = flag.Int64("elements", 10_000_000, "Number of int64 elements Generate emits.")
	provisionEndpoint = flag.String("provision_endpoint", "", "Set by Prism's PROCESS environment: run as the SDK worker.")
)

func init() {
	register.DoFn2x0[[]byte, func(int64)](&generateFn{})
	register.DoFn2x0[int64, func(int64)](&addOneFn{})
	register.DoFn2x0[int64, func(int64)](&doubleFn{})
	register.DoFn2x0[int64, func(int64, int64)](&sumFn{})
	register.DoFn2x0[int64, func(*int64) bool](&checkFn{})
	register.Emitter1[int64]()
	register.Emitter2[int64, int64]()
	register.Iter1[int64]()
}

// ---- worker-side self report ----------------------------------------------------------

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func bootSeconds() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return -1
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

// processStartBootSeconds is field 22 of /proc/self/stat (starttime, clock ticks since boot).
func processStartBootSeconds() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	s = s[strings.LastIndexByte(s, ')')+2:] // fields from 3 (state) on
	f := strings.Fields(s)
	ticks, err := strconv.ParseInt(f[22-3], 10, 64)
	if err != nil {
		return -1
	}
	return float64(ticks) / 100.0 // USER_HZ is 100 on Linux
}

var firstOnce sync.Once

func reportFirstElement() {
	firstOnce.Do(func() {
		now := bootSeconds()
		fmt.Fprintf(os.Stderr, "beam-bench worker: event=first_element sdk=go pid=%d t_boot_s=%.6f since_start_ms=%.1f cpu_s=%.6f\n",
			os.Getpid(), now, (now-processStartBootSeconds())*1000, cpuSeconds())
	})
}

// ---- DoFns -----------------------------------------------------------------------------

type generateFn struct {
	N int64 `json:"n"`
}

func (f *generateFn) ProcessElement(_ []byte, emit func(int64)) {
	reportFirstElement()
	for i := int64(0); i < f.N; i++ {
		emit(i)
	}
}

type addOneFn struct{}

func (*addOneFn) ProcessElement(x int64, emit func(int64)) { emit(x + 1) }

type doubleFn struct{}

func (*doubleFn) ProcessElement(x int64, emit func(int64)) { emit(x * 2) }

var (
	keptCounter = beam.NewCounter("bench", "kept")
	sumCounter  = beam.NewCounter("bench", "sum")
)

type sumFn struct {
	kept, sum int64
}

func (f *sumFn) StartBundle(_ func(int64, int64)) { f.kept, f.sum = 0, 0 }

func (f *sumFn) ProcessElement(x int64, _ func(int64, int64)) {
	if x%3 != 0 {
		f.kept++
		f.sum += x
	}
}

func (f *sumFn) FinishBundle(ctx context.Context, emit func(int64, int64)) {
	keptCounter.Inc(ctx, f.kept)
	sumCounter.Inc(ctx, f.sum)
	emit(f.kept, f.sum)
	fmt.Fprintf(os.Stderr, "beam-bench worker: event=finish sdk=go pid=%d t_boot_s=%.6f cpu_s=%.6f kept=%d sum=%d\n",
		os.Getpid(), bootSeconds(), cpuSeconds(), f.kept, f.sum)
}

// checkFn consumes the one (kept, sum) record per bundle after the GroupByKey.
type checkFn struct{}

func (*checkFn) ProcessElement(kept int64, sums func(*int64) bool) {
	var s, total int64
	for sums(&s) {
		total += s
	}
	fmt.Fprintf(os.Stderr, "beam-bench worker: event=checksum sdk=go pid=%d kept=%d sum=%d\n", os.Getpid(), kept, total)
}

// ---- worker boot (what sdks/go/container/boot.go does, minus artifact staging) -----------

func becomeWorker() {
	ctx := grpcx.WriteWorkerID(context.Background(), flag.Lookup("id").Value.String())
	info, err := tools.ProvisionInfo(ctx, *provisionEndpoint)
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness_bench_go: provision: %v\n", err)
		os.Exit(1)
	}
	options, err := tools.ProtoToJSON(info.GetPipelineOptions())
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness_bench_go: options: %v\n", err)
		os.Exit(1)
	}
	if len(info.GetRunnerCapabilities()) > 0 {
		os.Setenv("RUNNER_CAPABILITIES", strings.Join(info.GetRunnerCapabilities(), " "))
	}
	if info.GetStatusEndpoint() != nil {
		os.Setenv("STATUS_ENDPOINT", info.GetStatusEndpoint().GetUrl())
	}
	for k, v := range map[string]string{
		"worker":           "true",
		"control_endpoint": info.GetControlEndpoint().GetUrl(),
		"logging_endpoint": info.GetLoggingEndpoint().GetUrl(),
		"options":          options,
	} {
		if err := flag.Set(k, v); err != nil {
			fmt.Fprintf(os.Stderr, "harness_bench_go: flag %s: %v\n", k, err)
			os.Exit(1)
		}
	}
	beam.Init() // runs the harness; does not return in worker mode
	os.Exit(0)
}

// ---- launcher -------------------------------------------------------------------------

func main() {
	flag.Parse()
	if *provisionEndpoint != "" {
		becomeWorker()
	}
	if *jobopts.EnvironmentType == "" {
		*jobopts.EnvironmentType = "PROCESS"
	}
	if strings.EqualFold(*jobopts.EnvironmentType, "process") && *jobopts.EnvironmentConfig == "" {
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(os.Stderr, "harness_bench_go: %v\n", err)
			os.Exit(1)
		}
		cfg, _ := json.Marshal(map[string]string{"command": self})
		*jobopts.EnvironmentConfig = string(cfg)
		if *jobopts.WorkerBinary == "" {
			*jobopts.WorkerBinary = self // staged as the artifact; unused by our boot
		}
	}
	beam.Init()
	ctx := context.Background()

	p, s := beam.NewPipelineWithRoot()
	imp := beam.Impulse(s)
	gen := beam.ParDo(s.Scope("Generate"), &generateFn{N: *elements}, imp)
	plus := beam.ParDo(s.Scope("AddOne"), &addOneFn{}, gen)
	dbl := beam.ParDo(s.Scope("Double"), &doubleFn{}, plus)
	sums := beam.ParDo(s.Scope("Sum"), &sumFn{}, dbl)
	beam.ParDo0(s.Scope("Check"), &checkFn{}, beam.GroupByKey(s, sums))

	res, err := beamx.RunWithMetrics(ctx, p)
	if err != nil {
		log.Exitf(ctx, "pipeline failed: %v", err)
	}
	var kept, sum int64 = -1, -1
	if res != nil {
		for _, c := range res.Metrics().AllMetrics().Counters() {
			if c.Key.Namespace != "bench" {
				continue
			}
			v := c.Result() // committed, or attempted if the runner has no committed values
			switch c.Key.Name {
			case "kept":
				kept = v
			case "sum":
				sum = v
			}
		}
	}
	fmt.Printf("beam-bench launcher: sdk=go elements=%d kept=%d sum=%d\n", *elements, kept, sum)
}
