"""The one kind of error the workspace side raises: a failure told in one line, without a traceback."""


class DeployError(Exception):
    """A failure reported as one line, naming what failed: the path, cluster, host, learner or file at fault."""
