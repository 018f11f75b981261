// Package data reads and writes datasets stored as NumPy .npy files.
//
// A dataset is a row-major matrix of float64 features (one sample per row)
// and, optionally, a vector of non-negative integer class labels. Matrices
// are read from 2-D C-order arrays of float64 or float32; labels from 1-D (or
// N×1) arrays of signed or unsigned integers. Files are validated as they are
// read: the declared shape must fit in the file before anything is
// allocated, every feature must be finite and every label non-negative.
// Files are written through package internal/atomicfile, so a failed write
// never leaves a truncated file behind.
//
// Every error returned by the readers and writers is a single line that
// starts with "data: <path>: " and wraps one of the sentinel errors of this
// package (or an underlying I/O error), so it can be tested with errors.Is.
package data
