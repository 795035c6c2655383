module mbox.dev/bench/previews

go 1.26.0
