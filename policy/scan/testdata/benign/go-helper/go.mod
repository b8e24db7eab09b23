module example.com/skills/gohelper

go 1.22
