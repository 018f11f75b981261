//go:build !unix

package main

import "errors"

func execSelf(string, []string, []string) error {
	return errors.New("restarting a process is implemented for Unix only")
}
