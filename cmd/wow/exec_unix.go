//go:build unix

package main

import "syscall"

// execSelf replaces this process with exe (syscall.Exec); it returns only
// on failure.
func execSelf(exe string, args, env []string) error { return syscall.Exec(exe, args, env) }
