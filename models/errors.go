package models

import "errors"

// Errors wrapped by the functions of this package; the messages around them
// say what was wrong.
var (
	// ErrParam: an invalid size, option or model.
	ErrParam = errors.New("models: invalid parameter")
	// ErrDim: an input whose length or shape does not match the model.
	ErrDim = errors.New("models: dimension mismatch")
	// ErrNoData: an empty input.
	ErrNoData = errors.New("models: no data")
	// ErrNaN: a NaN or infinite input value or weight.
	ErrNaN = errors.New("models: non-finite value")
	// ErrLabel: a label outside [0, Classes()).
	ErrLabel = errors.New("models: label out of range")
	// ErrDiverged: the training loss became NaN or infinite.
	ErrDiverged = errors.New("models: training diverged")
	// ErrFormat: a model file that is not in the format Save writes, is
	// truncated or corrupt, or holds non-finite weights.
	ErrFormat = errors.New("models: bad model file")
)
