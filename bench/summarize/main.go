// Command summarize reads a `make bench` run: the instruction counts (a TSV of command and
// count, five lines a command) and the hyperfine JSON files (one per round), and prints per
// command the median instructions and wall time, each with its ratio to sdkbaseline, and
// whether each target is met. Targets are judged on instructions, which are repeatable on a
// noisy machine; wall time is shown beside them. It exits 1 when a target is missed.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The names are the command names bench/run gives.
const (
	baseline = "sdkbaseline"
	onePro   = "dsqlenv bash p0000 (1 profile)"
	thousand = "dsqlenv bash p0500"
)

// ratioTargets: at most this many times sdkbaseline's instructions. The start-up guards as
// decided with service/dsql kept for clusters and add (its endpoint regexps are compiled at
// start-up by every command): 1.45× for the token path, 1.30× for the rest.
var ratioTargets = map[string]float64{
	"dsqlenv bash demo":       1.45, // the token path
	"dsqlenv token demo":      1.45,
	"dsqlenv list":            1.3, // commands that need no token
	"dsqlenv show demo":       1.3,
	"dsqlenv bash --unset":    1.3,
	"dsqlenv hook bash":       1.3,
	"dsqlenv completion bash": 1.3,
	"dsqlenv __complete bash": 1.3,
}

// perProfile is the most one more profile in a 1,000-profile file may cost, in instructions: a
// guard over yaml.v3's scanner and node tree (about 50,000 of the 58,000 measured), the
// design card's library; there is no second parse path to get under it.
const perProfile = 65000

type report struct {
	Results []struct {
		Command string    `json:"command"`
		Times   []float64 `json:"times"`
	} `json:"results"`
}

func main() {
	instrFile := flag.String("instructions", "", "the TSV of instruction counts")
	flag.Parse()
	if *instrFile == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: summarize -instructions FILE.tsv ROUND.json...")
		os.Exit(2)
	}
	instr, order, err := readInstructions(*instrFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	times := map[string][]float64{}
	for _, path := range flag.Args() {
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
			times[res.Command] = append(times[res.Command], res.Times...)
		}
	}
	baseI, baseT := median(instr[baseline]), median(times[baseline])
	if baseI == 0 || baseT == 0 {
		fmt.Fprintln(os.Stderr, "summarize: no sdkbaseline measurements")
		os.Exit(1)
	}
	sort.SliceStable(order, func(i, j int) bool { return median(instr[order[i]]) < median(instr[order[j]]) })
	missed := 0
	fmt.Println("| command | instructions (median of 5) | lowest–highest | × sdkbaseline | wall time (median) | × sdkbaseline | target (instructions) | |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---|---|")
	for _, name := range order {
		i, t := median(instr[name]), median(times[name])
		goal, verdict := "", ""
		if max, ok := ratioTargets[name]; ok {
			goal = fmt.Sprintf("≤ %.2f×", max)
			verdict = "ok"
			if i/baseI > max {
				verdict = "MISSED"
				missed++
			}
		}
		lo, hi := slices.Min(instr[name]), slices.Max(instr[name])
		fmt.Printf("| `%s` | %s | %s–%s | %.2f | %.2f ms (%d runs) | %.2f | %s | %s |\n", name, thousands(i), thousands(lo), thousands(hi), i/baseI, t*1000, len(times[name]), t/baseT, goal, verdict)
	}
	each := (median(instr[thousand]) - median(instr[onePro])) / 999
	verdict := "ok"
	if each > perProfile || median(instr[onePro]) == 0 {
		verdict = "MISSED"
		missed++
	}
	fmt.Printf("\nEach extra profile in a 1,000-profile file: %s instructions (`%s` − `%s`, / 999); target ≤ %s: %s\n",
		thousands(each), thousand, onePro, thousands(perProfile), verdict)
	for name := range ratioTargets {
		if len(instr[name]) == 0 {
			fmt.Fprintf(os.Stderr, "summarize: no instruction count for %q\n", name)
			missed++
		}
	}
	if missed > 0 {
		fmt.Fprintf(os.Stderr, "summarize: %d target(s) missed\n", missed)
		os.Exit(1)
	}
	fmt.Println("\nAll targets met.")
}

func readInstructions(path string) (map[string][]float64, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, count, ok := strings.Cut(sc.Text(), "\t")
		n, err := strconv.ParseFloat(strings.ReplaceAll(count, ",", ""), 64)
		if !ok || err != nil {
			return nil, nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		if _, seen := out[name]; !seen {
			order = append(order, name)
		}
		out[name] = append(out[name], n)
	}
	return out, order, sc.Err()
}

func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
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
