"""The packager: downloads a job's images behind the private-address guard and zips them."""
