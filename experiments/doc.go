// Package experiments holds the paper's experiments and the project's
// commands as library code: each experiment is a Config struct, validated
// once, and a Run function returning a result and writing its files. The wow
// command (cmd/wow) only maps flags to these configs.
package experiments
