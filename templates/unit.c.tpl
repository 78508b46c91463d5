@banner@
@includes@
