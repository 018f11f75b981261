package data

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// Errors wrapped by the errors this package returns.
var (
	// ErrFormat: the input is not a well-formed NPY file (bad magic,
	// malformed or oversized header, declared shape larger than the data,
	// truncated or trailing data).
	ErrFormat = errors.New("malformed NPY file")
	// ErrDType: the array has an element type that cannot be used.
	ErrDType = errors.New("unsupported dtype")
	// ErrShape: the array has the wrong number of dimensions or is empty,
	// or a Matrix to be written is inconsistent.
	ErrShape = errors.New("unsupported shape")
	// ErrLayout: the matrix is stored in Fortran (column-major) order.
	ErrLayout = errors.New("unsupported memory layout")
	// ErrNonFinite: a matrix holds a NaN or an infinity.
	ErrNonFinite = errors.New("non-finite value")
	// ErrLabel: a label is negative or does not fit in an int.
	ErrLabel = errors.New("invalid label")
)

// Matrix is a dense row-major matrix: element (i, j) is Data[i*Cols+j].
type Matrix struct {
	Data       []float64
	Rows, Cols int
}

const (
	// maxHeaderLen bounds the header dictionary length. NumPy itself
	// refuses headers over 10000 bytes by default.
	maxHeaderLen = 1 << 16
	// maxStreamElems bounds the element count declared by an input whose
	// size is unknown. Data is decoded incrementally, so memory use also
	// follows the bytes actually present.
	maxStreamElems = 1 << 28
	// chunkBytes is the size of the decoding buffer.
	chunkBytes = 1 << 16
)

// ReadMatrix reads a 2-D float64 or float32 C-order array from the NPY file
// at path. float32 values are converted to float64. The matrix must be
// non-empty and every value finite.
func ReadMatrix(path string) (Matrix, error) {
	f, size, err := open(path)
	if err != nil {
		return Matrix{}, err
	}
	defer f.Close()
	return readMatrix(bufio.NewReaderSize(f, chunkBytes), path, size)
}

// ReadMatrixFrom is like ReadMatrix but reads the NPY data from r; name
// identifies the input in error messages. Since the size of r is unknown,
// the declared shape may hold at most 1<<28 elements.
func ReadMatrixFrom(r io.Reader, name string) (Matrix, error) {
	return readMatrix(r, name, -1)
}

// ReadLabels reads class labels from the NPY file at path: a 1-D or N×1
// array of signed or unsigned integers (int8 to int64, uint8 to uint64).
// The array must be non-empty and every label non-negative.
func ReadLabels(path string) ([]int, error) {
	f, size, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLabels(bufio.NewReaderSize(f, chunkBytes), path, size)
}

// ReadLabelsFrom is like ReadLabels but reads the NPY data from r; name
// identifies the input in error messages. Since the size of r is unknown,
// the declared shape may hold at most 1<<28 elements.
func ReadLabelsFrom(r io.Reader, name string) ([]int, error) {
	return readLabels(r, name, -1)
}

// WriteMatrix atomically writes m to path as a C-order float64 NPY array of
// shape (m.Rows, m.Cols). m must be non-empty, consistent and finite.
func WriteMatrix(path string, m Matrix) error {
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("data: %s: %w: matrix is %d×%d, want positive dimensions", path, ErrShape, m.Rows, m.Cols)
	}
	if hi, lo := bits.Mul64(uint64(m.Rows), uint64(m.Cols)); hi != 0 || lo != uint64(len(m.Data)) {
		return fmt.Errorf("data: %s: %w: matrix is %d×%d but holds %d values", path, ErrShape, m.Rows, m.Cols, len(m.Data))
	}
	for i, v := range m.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("data: %s: %w: %v at row %d, column %d (0-based)", path, ErrNonFinite, v, i/m.Cols, i%m.Cols)
		}
	}
	rows := make([][]float64, m.Rows)
	for i := range rows {
		rows[i] = m.Data[i*m.Cols : (i+1)*m.Cols : (i+1)*m.Cols]
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return npy.Write(w, rows) }); err != nil {
		return fmt.Errorf("data: %s: %w", path, unwrapPath(err))
	}
	return nil
}

// WriteLabels atomically writes labels to path as a 1-D int64 NPY array.
// labels must be non-empty and non-negative.
func WriteLabels(path string, labels []int) error {
	if len(labels) == 0 {
		return fmt.Errorf("data: %s: %w: no labels", path, ErrShape)
	}
	v := make([]int64, len(labels))
	for i, l := range labels {
		if l < 0 {
			return fmt.Errorf("data: %s: %w: %d at index %d is negative", path, ErrLabel, l, i)
		}
		v[i] = int64(l)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return npy.Write(w, v) }); err != nil {
		return fmt.Errorf("data: %s: %w", path, unwrapPath(err))
	}
	return nil
}

// open opens path and returns its size, or -1 if it is not a regular file.
func open(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("data: %s: %w", path, unwrapPath(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("data: %s: %w", path, unwrapPath(err))
	}
	if fi.IsDir() {
		f.Close()
		return nil, 0, fmt.Errorf("data: %s: is a directory", path)
	}
	size := int64(-1)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, nil
}

// unwrapPath returns the error inside err's *fs.PathError, if any, whose
// message would repeat the path (or name a temporary file).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func readMatrix(r io.Reader, name string, size int64) (m Matrix, err error) {
	defer recoverAs(name, &err)
	h, err := readHeader(r)
	if err != nil {
		return Matrix{}, fmt.Errorf("data: %s: %w", name, err)
	}
	dt := h.dtype
	if dt.kind != 'f' || (dt.size != 4 && dt.size != 8) {
		return Matrix{}, fmt.Errorf("data: %s: %w: matrix must be float64 or float32, got %s", name, ErrDType, dt)
	}
	switch len(h.shape) {
	case 2:
	case 1:
		return Matrix{}, fmt.Errorf("data: %s: %w: matrix must be 2-D, got 1-D array of shape %s (save a single feature as x.reshape(-1, 1))", name, ErrShape, shapeString(h.shape))
	default:
		return Matrix{}, fmt.Errorf("data: %s: %w: matrix must be 2-D, got %d-D array of shape %s", name, ErrShape, len(h.shape), shapeString(h.shape))
	}
	if h.fortran {
		return Matrix{}, fmt.Errorf("data: %s: %w: array is in Fortran order; save a C-order array (np.ascontiguousarray)", name, ErrLayout)
	}
	n, err := h.checkSize(size)
	if err != nil {
		return Matrix{}, fmt.Errorf("data: %s: %w", name, err)
	}
	rows, cols := h.shape[0], h.shape[1]
	if n == 0 {
		return Matrix{}, fmt.Errorf("data: %s: %w: matrix is empty, shape %s", name, ErrShape, shapeString(h.shape))
	}

	data := make([]float64, 0, capHint(n, size))
	err = decode(r, n, dt.size, func(b []byte) error {
		for ; len(b) > 0; b = b[dt.size:] {
			var v float64
			if dt.size == 8 {
				v = math.Float64frombits(dt.order.Uint64(b))
			} else {
				v = float64(math.Float32frombits(dt.order.Uint32(b)))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				i := len(data)
				return fmt.Errorf("%w: %v at row %d, column %d (0-based)", ErrNonFinite, v, i/cols, i%cols)
			}
			data = append(data, v)
		}
		return nil
	})
	if err != nil {
		return Matrix{}, fmt.Errorf("data: %s: %w", name, err)
	}
	return Matrix{Data: data, Rows: rows, Cols: cols}, nil
}

func readLabels(r io.Reader, name string, size int64) (labels []int, err error) {
	defer recoverAs(name, &err)
	h, err := readHeader(r)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	dt := h.dtype
	if (dt.kind != 'i' && dt.kind != 'u') || (dt.size != 1 && dt.size != 2 && dt.size != 4 && dt.size != 8) {
		return nil, fmt.Errorf("data: %s: %w: labels must be integers, got %s", name, ErrDType, dt)
	}
	// An N×1 array has the same layout in C and Fortran order.
	if len(h.shape) != 1 && (len(h.shape) != 2 || h.shape[1] != 1) {
		return nil, fmt.Errorf("data: %s: %w: labels must be a 1-D or N×1 array, got shape %s", name, ErrShape, shapeString(h.shape))
	}
	n, err := h.checkSize(size)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("data: %s: %w: no labels, shape %s", name, ErrShape, shapeString(h.shape))
	}

	labels = make([]int, 0, capHint(n, size))
	err = decode(r, n, dt.size, func(b []byte) error {
		for ; len(b) > 0; b = b[dt.size:] {
			var v int64
			var u uint64 // v as unsigned, for unsigned dtypes
			switch dt.size {
			case 1:
				u, v = uint64(b[0]), int64(int8(b[0]))
			case 2:
				x := dt.order.Uint16(b)
				u, v = uint64(x), int64(int16(x))
			case 4:
				x := dt.order.Uint32(b)
				u, v = uint64(x), int64(int32(x))
			case 8:
				u = dt.order.Uint64(b)
				v = int64(u)
			}
			i := len(labels)
			if dt.kind == 'u' {
				if u > math.MaxInt {
					return fmt.Errorf("%w: %d at index %d does not fit in an int", ErrLabel, u, i)
				}
				v = int64(u)
			}
			if v < 0 {
				return fmt.Errorf("%w: %d at index %d is negative", ErrLabel, v, i)
			}
			if v > math.MaxInt {
				return fmt.Errorf("%w: %d at index %d does not fit in an int", ErrLabel, v, i)
			}
			labels = append(labels, int(v))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", name, err)
	}
	return labels, nil
}

// recoverAs turns a panic in the NPY decoding into an error naming the input,
// so that no input can crash the caller.
func recoverAs(name string, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("data: %s: %w: %s", name, ErrFormat, oneLine(fmt.Sprint("unreadable header: ", p)))
	}
}

// header is a validated NPY header.
type header struct {
	dtype   dtype
	fortran bool
	shape   []int
	len     int64 // bytes from the start of the file to the array data
}

// readHeader reads and validates the NPY preamble and header dictionary,
// leaving r at the start of the array data. The dictionary is parsed by
// npyio; its length is bounded first, so a hostile length field cannot cause
// a large allocation.
func readHeader(r io.Reader) (header, error) {
	var pre [12]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return header{}, shortRead(err, "file too short for an NPY header")
	}
	if !bytes.Equal(pre[:6], npy.Magic[:]) {
		return header{}, fmt.Errorf("%w: bad magic %q, not an NPY file", ErrFormat, pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen, plen int
	switch major {
	case 1:
		plen = 10
		if _, err := io.ReadFull(r, pre[8:plen]); err != nil {
			return header{}, shortRead(err, "truncated header")
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:plen]))
	case 2, 3:
		plen = 12
		if _, err := io.ReadFull(r, pre[8:plen]); err != nil {
			return header{}, shortRead(err, "truncated header")
		}
		hlen64 := binary.LittleEndian.Uint32(pre[8:plen])
		if hlen64 > maxHeaderLen {
			return header{}, fmt.Errorf("%w: header length %d exceeds %d bytes", ErrFormat, hlen64, maxHeaderLen)
		}
		hlen = int(hlen64)
		// Version 3 differs from 2 only in allowing UTF-8 in the
		// dictionary, which npyio parses the same way.
		pre[6] = 2
	default:
		return header{}, fmt.Errorf("%w: unsupported NPY format version %d.%d", ErrFormat, major, minor)
	}
	buf := make([]byte, plen+hlen)
	copy(buf, pre[:plen])
	if _, err := io.ReadFull(r, buf[plen:]); err != nil {
		return header{}, shortRead(err, "truncated header")
	}

	nh, err := parseHeader(buf)
	if err != nil {
		return header{}, err
	}
	h := header{fortran: nh.Descr.Fortran, shape: nh.Descr.Shape, len: int64(len(buf))}
	for _, d := range h.shape {
		if d < 0 {
			return header{}, fmt.Errorf("%w: negative dimension in shape %s", ErrFormat, shapeString(h.shape))
		}
	}
	h.dtype, err = parseDType(nh.Descr.Type)
	if err != nil {
		return header{}, err
	}
	return h, nil
}

// parseHeader parses the header dictionary with npyio, turning its panics on
// malformed dictionaries into errors.
func parseHeader(buf []byte) (h npy.Header, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: unreadable header dictionary", ErrFormat)
		}
	}()
	nr, err := npy.NewReader(bytes.NewReader(buf))
	if err != nil {
		return h, fmt.Errorf("%w: unreadable header dictionary: %s", ErrFormat, oneLine(err.Error()))
	}
	return nr.Header, nil
}

// checkSize returns the number of elements declared by h, checking that
// their byte size neither overflows nor exceeds what the input can hold:
// size is the total size of the input in bytes, or -1 if it is unknown.
// It allocates nothing.
func (h header) checkSize(size int64) (int64, error) {
	n := uint64(1)
	for _, d := range h.shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("%w: element count of shape %s overflows", ErrFormat, shapeString(h.shape))
		}
		n = lo
	}
	hi, nbytes := bits.Mul64(n, uint64(h.dtype.size))
	if hi != 0 || nbytes > math.MaxInt64 {
		return 0, fmt.Errorf("%w: byte size of shape %s overflows", ErrFormat, shapeString(h.shape))
	}
	if size < 0 {
		if n > maxStreamElems {
			return 0, fmt.Errorf("%w: shape %s declares %d elements, more than the %d allowed for a stream", ErrFormat, shapeString(h.shape), n, maxStreamElems)
		}
		return int64(n), nil
	}
	avail := size - h.len
	switch {
	case int64(nbytes) > avail:
		return 0, fmt.Errorf("%w: shape %s of %s needs %d data bytes, file holds %d", ErrFormat, shapeString(h.shape), h.dtype, nbytes, avail)
	case int64(nbytes) < avail:
		return 0, fmt.Errorf("%w: %d trailing bytes after the data of shape %s", ErrFormat, avail-int64(nbytes), shapeString(h.shape))
	}
	return int64(n), nil
}

// capHint is the initial capacity for n elements: all of them when the input
// size was checked, otherwise no more than one chunk's worth, so that memory
// follows the data actually read.
func capHint(n, size int64) int64 {
	if size >= 0 {
		return n
	}
	return min(n, chunkBytes)
}

// decode reads n elements of itemsize bytes from r and passes them to fn in
// chunks of whole elements. It then checks that r holds nothing more.
func decode(r io.Reader, n int64, itemsize int, fn func(b []byte) error) error {
	per := int64(chunkBytes / itemsize)
	buf := make([]byte, min(n, per)*int64(itemsize))
	for done := int64(0); done < n; {
		k := min(n-done, per)
		b := buf[:k*int64(itemsize)]
		if m, err := io.ReadFull(r, b); err != nil {
			return shortRead(err, fmt.Sprintf("truncated data, got %d of %d elements", done+int64(m/itemsize), n))
		}
		if err := fn(b); err != nil {
			return err
		}
		done += k
	}
	var one [1]byte
	switch m, err := io.ReadFull(r, one[:]); {
	case m > 0:
		return fmt.Errorf("%w: trailing bytes after the data", ErrFormat)
	case err != io.EOF:
		return err
	}
	return nil
}

// shortRead turns an unexpected end of input into an ErrFormat error and
// passes other read errors through.
func shortRead(err error, msg string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s", ErrFormat, msg)
	}
	return err
}

// dtype is a simple NumPy element type.
type dtype struct {
	kind  byte // 'f', 'i', 'u', 'b', 'c', ...
	size  int  // bytes per element
	order binary.ByteOrder
	str   string // as written in the header, e.g. "<f8"
}

// parseDType parses a simple type string such as '<f8' from a header
// dictionary. Structured and other composite types are refused.
func parseDType(s string) (dtype, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		s = s[1 : len(s)-1]
	} else {
		return dtype{}, fmt.Errorf("%w: %s (only simple numeric arrays are supported)", ErrDType, quote(s))
	}
	bad := func() (dtype, error) {
		return dtype{}, fmt.Errorf("%w: %s", ErrDType, quote(s))
	}
	if len(s) < 3 || len(s) > 4 {
		return bad()
	}
	size, err := strconv.Atoi(s[2:])
	if err != nil || size <= 0 {
		return bad()
	}
	dt := dtype{kind: s[1], size: size, str: s}
	switch s[0] {
	case '<':
		dt.order = binary.LittleEndian
	case '>':
		dt.order = binary.BigEndian
	case '=':
		dt.order = binary.NativeEndian
	case '|':
		if size != 1 {
			return bad()
		}
		dt.order = binary.LittleEndian
	default:
		return bad()
	}
	return dt, nil
}

// String returns the NumPy name of the type, e.g. "float64".
func (dt dtype) String() string {
	var base string
	switch dt.kind {
	case 'f':
		base = "float"
	case 'i':
		base = "int"
	case 'u':
		base = "uint"
	case 'c':
		base = "complex"
	case 'b':
		if dt.size == 1 {
			return "bool"
		}
		fallthrough
	default:
		return "dtype " + quote(dt.str)
	}
	return base + strconv.Itoa(8*dt.size)
}

// quote quotes s on one line, truncating long strings.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

// oneLine replaces line breaks in s, so that error messages stay one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// shapeString formats a shape as NumPy does: (3,) or (3, 4). Shapes with
// many dimensions are abbreviated.
func shapeString(shape []int) string {
	if len(shape) == 1 {
		return "(" + strconv.Itoa(shape[0]) + ",)"
	}
	const max = 8
	s := make([]string, 0, max+1)
	for i, d := range shape {
		if i == max {
			s = append(s, "... "+strconv.Itoa(len(shape))+" dimensions")
			break
		}
		s = append(s, strconv.Itoa(d))
	}
	return "(" + strings.Join(s, ", ") + ")"
}
