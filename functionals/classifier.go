package functionals

import (
	"fmt"
	"math"

	"github.com/wowflow/wowflow/graph"
	"gorgonia.org/gorgonia"
)

// Classifier is a differentiable classifier: Logits adds its forward pass on
// the rows of x (an n×d node) to x's graph, with fixed weights, and returns
// the n×Classes() logits. The classifiers of package models (models.Net)
// implement it.
type Classifier interface {
	Logits(x *gorgonia.Node) (*gorgonia.Node, error)
	Classes() int
	String() string
}

// PlainClassifier is implemented by classifiers with a plain-Go forward pass
// (n×d row-major inputs to n×Classes logits), used for reference evaluations.
type PlainClassifier interface {
	LogitsOf(x []float64, n int) ([]float64, error)
}

// ClassifierLoss is the cross-entropy of a fixed classifier h on every
// particle against the label of its class,
//
//	F(P) = Σ_c a_c (1/n_c) Σ_i ℓ(h(x_i^c), y_c),   ℓ(z, y) = −log softmax(z)_y,
//
// (uniform a_c = 1/C: averaged per class, then over classes). Its WoW gradient
// pushes every particle of class c toward the region h labels y_c.
type ClassifierLoss struct {
	Model Classifier
	// Labels[c] is the label y_c of flowed class c; nil means y_c = c.
	Labels []int
}

func (l ClassifierLoss) rowsOf(lay graph.Layout) (labels []int, weights []float64, err error) {
	C := lay.NumClasses()
	if l.Labels != nil && len(l.Labels) != C {
		return nil, nil, fmt.Errorf("functionals: classifier loss has %d labels for %d classes: %w", len(l.Labels), C, ErrParam)
	}
	for c := 0; c < C; c++ {
		y := c
		if l.Labels != nil {
			y = l.Labels[c]
		}
		if y < 0 || y >= l.Model.Classes() {
			return nil, nil, fmt.Errorf("functionals: class %d has label %d, the classifier knows %d classes: %w", c, y, l.Model.Classes(), ErrParam)
		}
		n := lay.ClassSize(c)
		for i := 0; i < n; i++ {
			labels = append(labels, y)
			weights = append(weights, lay.Weights[c]/float64(n))
		}
	}
	return labels, weights, nil
}

// Build implements Functional.
func (l ClassifierLoss) Build(env *Env, x graph.Node) (*gorgonia.Node, error) {
	if l.Model == nil {
		return nil, fmt.Errorf("functionals: classifier loss without a model: %w", ErrParam)
	}
	labels, weights, err := l.rowsOf(x.Layout)
	if err != nil {
		return nil, err
	}
	z, err := l.Model.Logits(x.X)
	if err != nil {
		return nil, fmt.Errorf("functionals: classifier %v: %w", l.Model, err)
	}
	return graph.CrossEntropy(z, labels, weights)
}

func (l ClassifierLoss) String() string {
	s := "classifier-loss("
	if l.Model != nil {
		s += l.Model.String()
	}
	if l.Labels != nil {
		s += fmt.Sprintf(",labels=%v", l.Labels)
	}
	return s + ")"
}

// Reference implements Referencer when the model has a plain-Go forward pass.
func (l ClassifierLoss) Reference(x *graph.Dataset, _ []float64, _ int) (float64, error) {
	pc, ok := l.Model.(PlainClassifier)
	if !ok {
		return 0, fmt.Errorf("functionals: %v has no plain-Go forward pass", l.Model)
	}
	labels, weights, err := l.rowsOf(x.Layout())
	if err != nil {
		return 0, err
	}
	z, err := pc.LogitsOf(x.Data, x.Len())
	if err != nil {
		return 0, err
	}
	K := l.Model.Classes()
	v := 0.0
	for i, y := range labels {
		row := z[i*K : (i+1)*K]
		m := math.Inf(-1)
		for _, e := range row {
			m = math.Max(m, e)
		}
		s := 0.0
		for _, e := range row {
			s += math.Exp(e - m)
		}
		v += weights[i] * (m + math.Log(s) - row[y])
	}
	return v, nil
}

var (
	_ Functional = ClassifierLoss{}
	_ Referencer = ClassifierLoss{}
)
