"""The ngspice layer: safe netlist values and the PySpice shared-mode runner."""
