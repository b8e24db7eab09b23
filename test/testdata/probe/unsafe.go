package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

func unsafePointer(b *byte) unsafe.Pointer { return unsafe.Pointer(b) }

func unsafePointer2(p *unix.SockFprog) unsafe.Pointer { return unsafe.Pointer(p) }
