// Package atomicfile writes files atomically: the content goes to a temporary
// file in the destination directory, which is flushed, synced to disk and then
// renamed over the destination. Readers therefore see either the old file or
// the complete new one, never a partial write, and a failed write leaves any
// existing file untouched.
package atomicfile
