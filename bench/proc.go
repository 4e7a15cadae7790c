package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/bench/internal/procstat"
)

var (
	procsMu sync.Mutex
	procs   = map[*proc]bool{}
)

// killAll ends every process the bench started (on interrupt).
func killAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for p := range procs {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// proc is one measured process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	start time.Time
	done  chan struct{}
	log   string
}

func startProc(dir, name string, argv []string, extraEnv ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	procsMu.Lock()
	procs[p] = true
	procsMu.Unlock()
	go func() {
		_ = cmd.Wait()
		f.Close()
		procsMu.Lock()
		delete(procs, p)
		procsMu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit by itself.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		if !p.cmd.ProcessState.Success() {
			return fmt.Errorf("%s failed: %s (log: %s)", p.name, p.cmd.ProcessState, p.log)
		}
		return nil
	case <-time.After(timeout):
		p.stop()
		return fmt.Errorf("%s did not finish in %s (log: %s)", p.name, timeout, p.log)
	}
}

// stop ends the process (SIGTERM, then SIGKILL) and waits.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// peakRSS is the process's peak resident set size in bytes, once it exited.
func (p *proc) peakRSS() int64 {
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

// totalCPU is the process's user+system CPU time, once it exited.
func (p *proc) totalCPU() float64 {
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return 0
}

// cpuSeconds reads the process's user+system CPU time while it runs.
func (p *proc) cpuSeconds() float64 {
	c, _ := p.readCPU()
	return c
}

// readCPU reads the process's user+system CPU time from /proc; false when
// the process is gone (or a zombie).
func (p *proc) readCPU() (float64, bool) { return procstat.CPU(p.cmd.Process.Pid) }

// rss reads the process's resident set size in bytes while it runs.
func (p *proc) rss() int64 { return procstat.RSS(p.cmd.Process.Pid) }

// window is what a watched run measured.
type window struct {
	first, last time.Time
	cpu         float64
}

// watch polls progress until it reaches target, timing the window between
// the first progress and the target and the process's CPU time in it.
func watch(ctx context.Context, p *proc, timeout time.Duration, target int64, progress func() (int64, error)) (window, error) {
	var w window
	var cpu0 float64
	deadline := time.Now().Add(timeout)
	for {
		n, err := progress()
		if err != nil {
			return w, err
		}
		now := time.Now()
		if n > 0 && w.first.IsZero() {
			w.first, cpu0 = now, p.cpuSeconds()
		}
		if n >= target {
			w.last = now
			c, ok := p.readCPU()
			if !ok { // the process already exited: its final accounting
				<-p.done
				c = p.totalCPU()
			}
			w.cpu = c - cpu0
			return w, nil
		}
		if p.exited() && !p.cmd.ProcessState.Success() {
			return w, fmt.Errorf("%s exited: %s (log: %s)", p.name, p.cmd.ProcessState, p.log)
		}
		if now.After(deadline) {
			return w, fmt.Errorf("%s: %d of %d after %s (log: %s)", p.name, n, target, timeout, p.log)
		}
		select {
		case <-ctx.Done():
			return w, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
