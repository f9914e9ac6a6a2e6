from runwire.protocol import __doc__ as d
