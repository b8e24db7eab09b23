package main

import (
	"io/fs"
	"os"
	"path/filepath"
)

// hostFS is the real file system as policy's discovery sees it.
type hostFS struct{}

func (hostFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }
func (hostFS) RealPath(p string) (string, error)         { return filepath.EvalSymlinks(p) }

func (hostFS) IsDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func (hostFS) IsFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
