//go:build !linux

package redistest

import "syscall"

// procAttr is empty where there is no parent-death signal.
func procAttr() *syscall.SysProcAttr { return nil }
