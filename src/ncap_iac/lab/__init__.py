"""`ncap lab`: the lab member's command line. Upload data and configs, submit, follow, cancel and
fetch a job's results, with a lab member's own credentials (an AWS profile, such as one
`ncap credentials` writes, or the local cloud's lab users), against a deployed pipeline or the
local cloud alike. Everything it may do is what IAM lets the lab's members do: nothing here widens
it."""
