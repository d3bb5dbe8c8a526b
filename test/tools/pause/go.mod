module meganet.invalid/tools/pause

go 1.26
