package redistest

import "syscall"

// procAttr makes a started server die with the test process (a shared cluster
// outlives every single test, so no t.Cleanup stops it).
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// DieWithParent returns process attributes that end a started process (a
// rathaus under test) when the test binary dies, even by a signal.
func DieWithParent() *syscall.SysProcAttr { return procAttr() }
