"""The console's pages, one module per audience: public, sign-in, staff, bureau, enterprise."""
