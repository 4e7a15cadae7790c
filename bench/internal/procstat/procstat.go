// Package procstat reads a process's CPU time and resident memory from
// Linux's /proc, for the benchmarks.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CPU is the process's user+system CPU seconds; false if it cannot be read
// (gone, or a zombie).
func CPU(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// Fields after the command: state is f[0]; utime is field 14 of the
	// whole line, so f[11], stime f[12].
	if len(f) < 13 || f[0] == "Z" {
		return 0, false
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, true // USER_HZ is 100 on Linux
}

// RSS is the process's resident set in bytes (0 if it cannot be read).
func RSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
