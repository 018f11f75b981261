package models

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"

	"github.com/wowflow/wowflow/internal/atomicfile"
)

// magic is the first line of a model file; the number is the format version.
const magic = "wowflow-model 1\n"

// maxHeader bounds the length of the JSON header line.
const maxHeader = 1 << 20

type fileParam struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

type header struct {
	Arch     string      `json:"arch"`
	Input    int         `json:"input"`
	Height   int         `json:"height,omitempty"`
	Width    int         `json:"width,omitempty"`
	Hidden   []int       `json:"hidden,omitempty"`
	Channels int         `json:"channels,omitempty"` // ConvNet width
	Depth    int         `json:"depth,omitempty"`    // ConvNet blocks
	Classes  int         `json:"classes"`
	Params   []fileParam `json:"params"`
}

func headerOf(nt *Net) header {
	h := header{Arch: nt.arch, Input: nt.d, Height: nt.h, Width: nt.w, Hidden: nt.hidden, Classes: nt.classes, Channels: nt.channels, Depth: nt.depth}
	for _, p := range nt.params {
		h.Params = append(h.Params, fileParam{Name: p.name, Shape: p.shape})
	}
	return h
}

// Save writes m, a model of this package, to path in the format described
// in the package documentation. The file is replaced atomically: written to
// a temporary file in the same directory, synced, then renamed.
func Save(path string, m Model) error {
	nt, err := netOf(m)
	if err != nil {
		return err
	}
	for _, p := range nt.params {
		if err := checkFinite(p.name, p.data); err != nil {
			return fmt.Errorf("models: save %s: %w", path, err)
		}
	}
	hdr, err := json.Marshal(headerOf(nt))
	if err != nil {
		return fmt.Errorf("models: save %s: %w", path, err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, magic); err != nil {
			return err
		}
		if _, err := w.Write(append(hdr, '\n')); err != nil {
			return err
		}
		crc := crc32.NewIEEE()
		mw := io.MultiWriter(w, crc)
		var b [8]byte
		for _, p := range nt.params {
			for _, v := range p.data {
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
				if _, err := mw.Write(b[:]); err != nil {
					return err
				}
			}
		}
		_, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
		return err
	})
	if err != nil {
		return fmt.Errorf("models: save: %w", err)
	}
	return nil
}

// Load reads a model written by Save. It is an error, wrapping ErrFormat and
// naming the file, if the file is not such a model, names an unknown
// architecture, has parameters that do not match it, is truncated or
// longer, fails its checksum or holds non-finite weights.
func Load(path string) (*Net, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("models: load: %w", err)
	}
	m, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("models: load %s: %w", path, err)
	}
	return m, nil
}

func decode(raw []byte) (*Net, error) {
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, fmt.Errorf("not a model file (no %q line): %w", magic[:len(magic)-1], ErrFormat)
	}
	raw = raw[len(magic):]
	end := bytes.IndexByte(raw[:min(len(raw), maxHeader)], '\n')
	if end < 0 {
		return nil, fmt.Errorf("no header line: %w", ErrFormat)
	}
	var h header
	dec := json.NewDecoder(bytes.NewReader(raw[:end]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("header: %w (%w)", ErrFormat, err)
	}
	body := raw[end+1:]
	var nt *Net
	var err error
	switch h.Arch {
	case "lenet":
		nt, err = newLeNetNet(h.Height, h.Width, h.Classes)
	case "convnet":
		nt, err = newConvNetNet(h.Height, h.Width, h.Channels, h.Depth, h.Classes)
	case "mlp":
		nt, err = newMLPNet(h.Input, h.Hidden, h.Classes)
	case "linear":
		nt, err = newLinearNet(h.Input, h.Classes)
	default:
		return nil, fmt.Errorf("unknown architecture %q: %w", h.Arch, ErrFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrFormat, err)
	}
	image := h.Arch == "lenet" || h.Arch == "convnet"
	if image != (h.Height > 0 || h.Width > 0) || (h.Arch != "mlp" && len(h.Hidden) > 0) || (h.Arch != "convnet" && (h.Channels != 0 || h.Depth != 0)) {
		return nil, fmt.Errorf("%s with height %d, width %d, hidden %v, channels %d, depth %d: %w", h.Arch, h.Height, h.Width, h.Hidden, h.Channels, h.Depth, ErrFormat)
	}
	if h.Input != nt.d {
		return nil, fmt.Errorf("%s with input dimension %d, want %d: %w", h.Arch, h.Input, nt.d, ErrFormat)
	}
	if len(h.Params) != len(nt.params) {
		return nil, fmt.Errorf("%v: %d parameters, want %d: %w", nt, len(h.Params), len(nt.params), ErrFormat)
	}
	for i, p := range nt.params {
		if h.Params[i].Name != p.name || !slices.Equal(h.Params[i].Shape, p.shape) {
			return nil, fmt.Errorf("%v: parameter %d is %s %v, want %s %v: %w", nt, i, h.Params[i].Name, h.Params[i].Shape, p.name, p.shape, ErrFormat)
		}
	}
	want := 8*nt.numParams() + 4
	if len(body) != want {
		what := "truncated"
		if len(body) > want {
			what = "too long"
		}
		return nil, fmt.Errorf("%v: %s: %d bytes of weights and checksum, want %d: %w", nt, what, len(body), want, ErrFormat)
	}
	vals := body[:want-4]
	if got, sum := crc32.ChecksumIEEE(vals), binary.LittleEndian.Uint32(body[want-4:]); got != sum {
		return nil, fmt.Errorf("%v: checksum %08x, want %08x: %w", nt, got, sum, ErrFormat)
	}
	off := 0
	for _, p := range nt.params {
		for i := range p.data {
			v := math.Float64frombits(binary.LittleEndian.Uint64(vals[off:]))
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%v: %s[%d] = %v: %w", nt, p.name, i, v, ErrFormat)
			}
			p.data[i] = v
			off += 8
		}
	}
	return nt, nil
}
