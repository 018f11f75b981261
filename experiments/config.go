package experiments

// Configuration: each experiment has an exported DefaultXConfig that holds
// every default in one place; the wow command's flags take their defaults
// from it. X(ctx, cfg) validates cfg once at the top and records the
// effective configuration in the run's JSON. A zero field whose zero the
// experiment cannot take (a step count, a size, a step size, a file name)
// means the documented default and is filled from DefaultXConfig; a field
// whose zero is a valid setting (momentum, a weight, λ, warm-up steps) is
// used as given. A value that cannot be used is an error naming its flag.

// orDefault sets *p to d when *p is the zero value.
func orDefault[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}
