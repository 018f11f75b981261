// Package experiments holds the paper's experiments and the project's
// commands as library code. Each experiment is data: a Config struct with an
// exported DefaultXConfig (the one place of its defaults, which the wow
// command's flags use; see config.go for the zero-value rule), validated once;
// NewX(cfg) returning its plan of trials (package harness: one flow, one
// classifier training of one arm, one evaluation each, with stable IDs and
// dependencies) and how it tabulates; and X(ctx, cfg), which runs the
// unfinished trials and returns the tabulated result. Files: one per
// experiment (rings.go, transfer*.go, adapt.go, distill*.go, …), what they
// share in common.go (the one relabel-by-alignment, pixel clipping, labeled
// NPY sets) and the harness; no experiment uses another's code. The wow
// command (cmd/wow) only maps flags to these configs.
package experiments
