package sandbox

import (
	"encoding/binary"
	"testing"
)

// fanEvent builds one FAN_REPORT_FID event as the kernel lays it out.
func fanEvent(pid int32, handleType uint32, handle []byte) []byte {
	ne := binary.NativeEndian
	info := make([]byte, fanInfoHdrLen+fanFSIDLen+fanHandleHdLen+len(handle))
	info[0] = fanInfoFID
	ne.PutUint16(info[2:], uint16(len(info)))
	h := info[fanInfoHdrLen+fanFSIDLen:]
	ne.PutUint32(h, uint32(len(handle)))
	ne.PutUint32(h[4:], handleType)
	copy(h[fanHandleHdLen:], handle)
	ev := make([]byte, fanMetaLen, fanMetaLen+len(info))
	ne.PutUint32(ev, uint32(fanMetaLen+len(info)))
	ev[4] = 3 // FANOTIFY_METADATA_VERSION
	ne.PutUint16(ev[6:], fanMetaLen)
	ne.PutUint64(ev[8:], 0x20) // FAN_OPEN
	ne.PutUint32(ev[16:], ^uint32(0))
	ne.PutUint32(ev[20:], uint32(pid))
	return append(ev, info...)
}

func TestMaskWatchParse(t *testing.T) {
	env := &maskObject{path: "/ws/.env", entry: "/ws/.env"}
	local := &maskObject{path: "/ws/.env.local", entry: "/ws/.env.*"}
	w := &maskWatch{self: 42, objects: map[string]*maskObject{
		handleKey(1, []byte("env-handle")): env, handleKey(1, []byte("local-handle")): local}}
	var buf []byte
	buf = append(buf, fanEvent(0, 1, []byte("env-handle"))...)
	buf = append(buf, fanEvent(0, 1, []byte("env-handle"))...)
	buf = append(buf, fanEvent(0, 2, []byte("env-handle"))...)    // another handle type: not ours
	buf = append(buf, fanEvent(0, 1, []byte("other"))...)         // not a mask of this run
	buf = append(buf, fanEvent(42, 1, []byte("local-handle"))...) // skillrun itself
	buf = append(buf, fanEvent(0, 1, []byte("local-handle"))...)
	w.parse(buf)
	want := []MaskedRead{{Path: "/ws/.env", Entry: "/ws/.env", Count: 2}, {Path: "/ws/.env.local", Entry: "/ws/.env.*", Count: 1}}
	if len(w.reads) != len(want) {
		t.Fatalf("reads %+v, want %+v", w.reads, want)
	}
	for i := range want {
		if w.reads[i] != want[i] {
			t.Errorf("read %d: %+v, want %+v", i, w.reads[i], want[i])
		}
	}
}

// FuzzMaskWatchParse: whatever the buffer holds, parsing neither panics nor loops.
func FuzzMaskWatchParse(f *testing.F) {
	f.Add(fanEvent(0, 1, []byte("env-handle")))
	f.Add(append(fanEvent(7, 1, []byte("x")), 1, 2, 3))
	f.Add([]byte{24, 0, 0, 0, 3, 0, 24, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := &maskWatch{objects: map[string]*maskObject{handleKey(1, []byte("env-handle")): {path: "/ws/.env"}}}
		w.parse(b)
		if len(w.reads) > maxDenials {
			t.Fatalf("%d reads kept", len(w.reads))
		}
	})
}
