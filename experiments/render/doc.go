// Package render draws pictures of labeled 2-D point clouds as they flow over
// time: a PNG scatter plot of one snapshot (Scatter, WriteScatter), an
// animated GIF of a sequence of snapshots (Animate, WriteAnimation), and a PNG
// line plot for loss curves (LinePlot, WriteLinePlot), and a PNG grid of
// grayscale images with one row per class (ImageGrid, WriteImageGrid).
//
// Each class of a Points value is drawn in its own colour from a fixed
// 10-colour palette (matplotlib's tab10, see ClassColor); class ids of 10 or
// more reuse the palette cyclically (class k gets colour k mod 10). An
// optional target configuration (Options.Target) is drawn behind the points
// with small markers in pale tints of the class colours.
//
// Scatter plots and line plots are rendered with gonum.org/v1/plot. For
// animations the static parts (title, axes, ticks and the target) are
// rendered once with gonum/plot and quantised onto a fixed palette; every
// frame then copies that background and draws its points as filled discs
// directly onto an image.Paletted, which keeps Animate fast (see
// BenchmarkAnimate). Axis bounds are fixed across all frames so the
// animation does not jump. Per-frame captions (for example "step 40") are
// given through Options.Captions; StepCaptions builds the usual ones.
//
// All inputs are validated: non-finite coordinates, len(X) != len(Label),
// negative labels, empty frame lists and malformed bounds are reported as
// errors (naming the frame and index where relevant); the functions do not
// panic on bad input. The Write* variants write their file atomically via
// internal/atomicfile.
package render
