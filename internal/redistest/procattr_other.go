//go:build !linux

package redistest

import "syscall"

// procAttr is empty where there is no parent-death signal.
func procAttr() *syscall.SysProcAttr { return nil }

// DieWithParent is procAttr where there is no parent-death signal.
func DieWithParent() *syscall.SysProcAttr { return procAttr() }
