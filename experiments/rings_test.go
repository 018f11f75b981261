package experiments

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return im
}

// distinctColours counts the distinct colours of an image (a blank image has 1).
func distinctColours(im image.Image) int {
	seen := map[[4]uint32]bool{}
	b := im.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := im.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

func TestRingsShort(t *testing.T) {
	dir := t.TempDir()
	res, err := Rings(context.Background(), RingsConfig{Steps: 60, Directions: 100, Frames: 20, Out: dir, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !(res.FinalLoss < 0.5*res.InitialLoss) {
		t.Errorf("loss %v → %v: did not halve in 60 steps", res.InitialLoss, res.FinalLoss)
	}
	for _, name := range []string{"start.png", "end.png", "loss.png"} {
		im := decodePNG(t, filepath.Join(dir, name))
		if b := im.Bounds(); b.Dx() < 200 || b.Dy() < 200 {
			t.Errorf("%s is %v", name, b)
		}
		if n := distinctColours(im); n < 5 {
			t.Errorf("%s has %d colours: blank?", name, n)
		}
	}
	f, err := os.Open(filepath.Join(dir, "flow.gif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) < 20 {
		t.Errorf("flow.gif has %d frames, want ≥ 20", len(g.Image))
	}
	if distinctColours(g.Image[0]) < 5 || bytes.Equal(g.Image[0].Pix, g.Image[len(g.Image)-1].Pix) {
		t.Error("flow.gif frames are blank or do not change")
	}
	cf, err := os.Open(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	rows, err := csv.NewReader(cf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 61 || rows[0][0] != "step" || rows[0][1] != "loss" || rows[0][2] != "grad_norm" || rows[0][3] != "elapsed_s" {
		t.Fatalf("metrics.csv: %d rows, header %v", len(rows), rows[0])
	}
	first, _ := strconv.ParseFloat(rows[1][1], 64)
	last, _ := strconv.ParseFloat(rows[60][1], 64)
	if !(last < first) {
		t.Errorf("metrics.csv loss %v → %v", first, last)
	}
	var manifest struct {
		Version   string  `json:"version"`
		Seed      uint64  `json:"seed"`
		FinalLoss float64 `json:"final_loss"`
		Config    struct{ Steps int }
	}
	raw, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.Version == "" || manifest.Seed != 3 || manifest.Config.Steps != 60 || manifest.FinalLoss != res.FinalLoss {
		t.Errorf("run.json: %+v", manifest)
	}
}

// The paper's setting (500 steps, L = 500, τ = 0.1): final ½MMD² ≤ 0.005 with
// the Riesz kernel and ≤ 0.001 with the Gaussian h = 0.05 (paper: 0.003, 0.000).
func TestRingsReachesThePapersLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("full rings flows in -short mode")
	}
	for _, tc := range []struct {
		kernel string
		bound  float64
	}{{"riesz", 0.005}, {"gaussian", 0.001}} {
		res, err := Rings(context.Background(), RingsConfig{Kernel: tc.kernel, Out: t.TempDir(), Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: ½MMD² %.4g → %.4g in %.1fs", tc.kernel, res.InitialLoss, res.FinalLoss, res.ElapsedS)
		if res.FinalLoss > tc.bound {
			t.Errorf("%s: final ½MMD² %v > %v", tc.kernel, res.FinalLoss, tc.bound)
		}
	}
}

func TestRingsRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]RingsConfig{
		"no out":   {},
		"tau":      {Out: "x", Tau: -1},
		"momentum": {Out: "x", Momentum: 1},
		"frames":   {Out: "x", Frames: 5},
		"kernel":   {Out: "x", Kernel: "cosine"},
		"steps":    {Out: "x", Steps: -3},
	} {
		if _, err := Rings(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
