"""``chainrule playground``: the decks' pictures, live in a browser.

Three tabs, served by a small Starlette application (``chainrule.playground.app``) and driven
by chainrule on the server:

* Network: train an MLP on a 2-D dataset and watch its decision map, every neuron's picture,
  the weights, the loss curves and the gradient norms; on demand, the Hessian's eigenvalues
  and the loss landscape around the weights (``cr.analysis``).
* Descent: optimisers of ``cr.optim`` racing over a 2-parameter loss surface.
* Graph: an expression's computational graph with forward values and gradients, step by step.

Start it with ``chainrule playground [--port 8000] [--host 127.0.0.1] [--open]`` (needs the
optional extra: ``pip install 'chainrule[playground]'``), or in Python::

    import uvicorn
    from chainrule.playground.app import create_app
    uvicorn.run(create_app(), host="127.0.0.1", port=8000)

Only :mod:`chainrule.playground.app` and :mod:`chainrule.playground.engine` need Starlette and
AnyIO; the rest (datasets, network, descent, graph, sessions) is plain chainrule.
"""
