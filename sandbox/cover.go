package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// CoverArg makes the skillrun binary run as the cover hook: libcontainer starts it in the
// container's mount namespace after the mounts and before pivot_root.
const CoverArg = "__cover"

type coverSpec struct {
	Rootfs string   `json:"rootfs"`
	Empty  string   `json:"empty,omitempty"` // an empty regular file to mount
	Links  []string `json:"links,omitempty"` // symlinks to cover, as paths inside the sandbox
	// Snapshots are verified folders to copy (snapshot.go); Integrity is the file to create when
	// one does not match its digest.
	Snapshots []snapshotSpec `json:"snapshots,omitempty"`
	Integrity string         `json:"integrity,omitempty"`
}

// coverHook prepares the hook that covers symlinks with an empty read-only file and copies the
// verified folders. Bind mounts follow symlinks, so libcontainer cannot do the first;
// move_mount(2) without MOVE_MOUNT_T_SYMLINKS mounts on the link itself, which then can be
// neither removed nor replaced.
func coverHook(st *state, exe string, links []string, snaps []snapshotSpec) (configs.Hook, error) {
	spec := coverSpec{Rootfs: st.rootfs, Links: links, Snapshots: snaps}
	if len(links) > 0 {
		// In runs/, where removeRunFiles and cleanStale look for it.
		spec.Empty = filepath.Join(st.root, "runs", st.id+".emptyf")
		f, err := os.OpenFile(spec.Empty, os.O_CREATE|os.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o444)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSetup, err)
		}
		f.Close()
	}
	timeout := 10 * time.Second
	if len(snaps) > 0 {
		spec.Integrity = st.integrityMarker()
		timeout = time.Minute // hashing and copying up to trust's bounds
	}
	specJSON, _ := json.Marshal(spec)
	return configs.NewCommandHook(&configs.Command{
		Path: exe, Args: []string{exe, CoverArg, string(specJSON)}, Timeout: &timeout,
	}), nil
}

// CoverMain is the cover hook's entry point. It never returns.
func CoverMain(args []string) {
	_, _ = io.Copy(io.Discard, os.Stdin) // the container state libcontainer sends
	if err := cover(args); err != nil {
		fmt.Fprintf(os.Stderr, "skillrun: cover hook: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func cover(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("want one argument, got %d", len(args))
	}
	var spec coverSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		return err
	}
	if len(spec.Snapshots) > 0 {
		if err := snapshots(spec); err != nil {
			return err
		}
	}
	for _, link := range spec.Links {
		tree, err := unix.OpenTree(unix.AT_FDCWD, spec.Empty, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fmt.Errorf("open_tree %s: %w", spec.Empty, err)
		}
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
			unix.Close(tree)
			return fmt.Errorf("mount_setattr: %w", err)
		}
		target := filepath.Join(spec.Rootfs, link)
		var st unix.Stat_t
		if err := unix.Lstat(target, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
			unix.Close(tree)
			return fmt.Errorf("%s is no longer a symlink", link)
		}
		// No MOVE_MOUNT_T_SYMLINKS: the mount lands on the link, not on what it points to.
		err = unix.MoveMount(tree, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("move_mount onto %s: %w", link, err)
		}
	}
	return nil
}
