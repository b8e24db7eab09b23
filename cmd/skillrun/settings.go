package main

// Editing an agent's JSON settings without clobbering them: keys keep their order and every value
// its bytes; only the hook list skillrun adds to changes. The file is replaced atomically (temp
// file and rename, same mode and owner) after a backup of the original.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// jsonObject is a JSON object that keeps its keys' order and its values' bytes.
type jsonObject struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseObject reads a JSON object; empty input is an empty object.
func parseObject(data []byte) (*jsonObject, error) {
	o := &jsonObject{vals: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return o, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		o.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("text after the JSON object")
	}
	return o, nil
}

func (o *jsonObject) get(key string) (json.RawMessage, bool) {
	v, ok := o.vals[key]
	return v, ok
}

func (o *jsonObject) set(key string, v json.RawMessage) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// MarshalJSON writes the keys in their order.
func (o *jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.vals[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// object reads the value at key as an object (a new one when missing or null).
func (o *jsonObject) object(key string) (*jsonObject, error) {
	v, ok := o.get(key)
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return &jsonObject{vals: map[string]json.RawMessage{}}, nil
	}
	sub, err := parseObject(v)
	if err != nil {
		return nil, fmt.Errorf("%q is not an object", key)
	}
	return sub, nil
}

// list reads the value at key as an array (empty when missing or null).
func (o *jsonObject) list(key string) ([]json.RawMessage, error) {
	v, ok := o.get(key)
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return nil, nil
	}
	var l []json.RawMessage
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("%q is not a list", key)
	}
	return l, nil
}

func (o *jsonObject) setValue(key string, v any) error {
	b, err := marshalNoEscape(v)
	if err != nil {
		return err
	}
	o.set(key, b)
	return nil
}

// render writes the object indented like the original text (two spaces when it had none).
func render(o *jsonObject, original []byte) ([]byte, error) {
	compact, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, compact, "", indentOf(original)); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// indentOf returns the indentation of the first indented line of a JSON text.
func indentOf(text []byte) string {
	for _, line := range strings.Split(string(text), "\n")[1:] {
		if ws := line[:len(line)-len(strings.TrimLeft(line, " \t"))]; ws != "" && strings.TrimSpace(line) != "" {
			return ws
		}
	}
	return "  "
}

// replaceFile writes data to path atomically: a temp file in the same folder, with the original's
// mode and owner (0600 for a new file), renamed over it. The original is first copied to backup
// (or backup-2, … when that exists), whose name it returns. A symlinked settings file is written
// where the link points.
func replaceFile(path string, data []byte, backup string) (saved string, err error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	mode, uid, gid := fs.FileMode(0o600), -1, -1
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		name := backup
		for i := 2; ; i++ {
			err := writeNew(name, old, mode)
			if err == nil {
				saved = name
				break
			}
			if !errors.Is(err, fs.ErrExist) || i > 100 {
				return "", fmt.Errorf("backing up %s: %v", path, err)
			}
			name = fmt.Sprintf("%s-%d", backup, i)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".skillrun-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up after a failure
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil && uid >= 0 && os.Geteuid() == 0 {
		err = tmp.Chown(uid, gid)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return saved, os.Rename(tmp.Name(), path)
}

// writeNew creates path with data, never overwriting an existing file.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// backupName is the backup of path made now: path.skillrun-backup-20060102T150405.
func backupName(path string, now time.Time) string {
	return path + ".skillrun-backup-" + now.Format("20060102T150405")
}
