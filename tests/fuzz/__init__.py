"""The validation fuzzer (`make fuzz`): generated messages judged against CONTRACT.md section 1."""
