// Command summarize reads the hyperfine JSON files of a `make bench` run (one per round),
// pools each command's times across rounds, and prints the medians, the ratios to
// sdkbaseline and whether each target is met. It exits 1 when a target is missed.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// target is a limit on one command's median: at most max times the median of base.
type target struct {
	base string
	max  float64
}

// The names are the hyperfine command names bench/run gives.
const (
	baseline = "sdkbaseline"
	demo     = "dsqlenv bash demo"
)

var targets = map[string]target{
	demo:                         {baseline, 1.2},
	"dsqlenv token demo":         {baseline, 1.2},
	"dsqlenv bash p0500":         {demo, 1.3}, // 1,000 profiles against one
	"dsqlenv list":               {baseline, 1.0},
	"dsqlenv show demo":          {baseline, 1.0},
	"dsqlenv bash --unset":       {baseline, 1.0},
	"dsqlenv hook bash":          {baseline, 1.0},
	"dsqlenv completion bash":    {baseline, 1.0},
	"dsqlenv __complete bash":    {baseline, 1.0},
	"dsqlenv service --file":     {baseline, 1.0},
	"dsqlenv list (1k profiles)": {"dsqlenv list", 1.3}, // 1,000 profiles against one
}

type report struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"`
	} `json:"results"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: summarize ROUND.json...")
		os.Exit(2)
	}
	times := map[string][]float64{}
	var order []string
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			os.Exit(1)
		}
		for _, res := range r.Results {
			if _, seen := times[res.Command]; !seen {
				order = append(order, res.Command)
			}
			times[res.Command] = append(times[res.Command], res.Times...)
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return median(times[order[i]]) < median(times[order[j]]) })
	base := median(times[baseline])
	if base == 0 {
		fmt.Fprintln(os.Stderr, "no sdkbaseline times")
		os.Exit(1)
	}
	missed := 0
	fmt.Println("| command | runs | median | × sdkbaseline | target | |")
	fmt.Println("|---|---:|---:|---:|---|---|")
	for _, name := range order {
		m := median(times[name])
		verdict, goal := "", ""
		if t, ok := targets[name]; ok {
			ratio := m / median(times[t.base])
			goal = fmt.Sprintf("≤ %.1f× %s", t.max, t.base)
			verdict = fmt.Sprintf("ok (%.2f×)", ratio)
			if ratio > t.max {
				verdict = fmt.Sprintf("MISSED (%.2f×)", ratio)
				missed++
			}
		}
		fmt.Printf("| `%s` | %d | %.2f ms | %.2f | %s | %s |\n", name, len(times[name]), m*1000, m/base, goal, verdict)
	}
	for name := range targets {
		if _, ok := times[name]; !ok {
			fmt.Fprintf(os.Stderr, "summarize: no times for %q\n", name)
			missed++
		}
	}
	if missed > 0 {
		fmt.Fprintf(os.Stderr, "summarize: %d target(s) missed\n", missed)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Println("All targets met.")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
