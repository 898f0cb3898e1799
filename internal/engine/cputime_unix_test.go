//go:build unix

package engine

import (
	"syscall"
	"time"
)

// cpuTime is the processor time the process has used so far, every thread
// counted (the garbage collector's too).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
