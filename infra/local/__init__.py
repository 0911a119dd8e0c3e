"""The local runtime: the synthesized template's resources, created in moto and run on one machine."""
