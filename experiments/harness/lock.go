package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockPoll is how often a process waiting for a trial another process is
// running tries its lock again.
const lockPoll = 200 * time.Millisecond

// lockPath is the file whose flock marks trial id as being run.
func (s Store) lockPath(id string) string { return filepath.Join(s.Dir, "trials", id+".lock") }

// lock takes the exclusive lock of trial id (flock(2) on DIR/trials/ID.lock),
// waiting while another process (or another Runner) holds it, and returns
// its release. waiting is called once if the lock is busy. Lock files stay
// in place: removing one while another process waits on it would let two
// processes hold "the" lock.
func (s Store) lock(ctx context.Context, id string, waiting func()) (release func(), err error) {
	p := s.lockPath(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("harness: %w", err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("harness: lock of trial %s: %w", id, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("harness: lock %s: %w", p, err)
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// running reports whether a process holds the lock of trial id now.
func (s Store) running(id string) bool {
	f, err := os.Open(s.lockPath(id))
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
