"""The ETA stays right when pseudo-labelled epochs grow."""
import types

from mmengine.logging import MessageHub

from mer_toolbox.registry import HOOKS


def fake_runner(iteration, epoch, per_epoch, max_epochs=10):
    loop = types.SimpleNamespace(max_epochs=max_epochs, epoch=epoch,
                                 dataloader=range(per_epoch))
    # max_iters as MMEngine fixes it: from the first epoch's 20 iterations
    return types.SimpleNamespace(
        iter=iteration, max_iters=20 * max_epochs, train_loop=loop,
        message_hub=MessageHub.get_instance('eta_test'))


def test_eta_counts_the_current_epoch_length_and_never_goes_negative():
    hook = HOOKS.build(dict(type='IterTimerHook'))
    assert type(hook).__name__ == 'EpochAwareIterTimerHook'
    runner = fake_runner(iteration=0, epoch=0, per_epoch=20)
    hook.before_train(runner)  # start_iter = 0
    hook.before_train_epoch(runner)
    # epoch 9 of 10 with the pool added: 60 iterations per epoch, iteration
    # 250 is past MMEngine's max_iters (200)
    runner = fake_runner(iteration=250, epoch=8, per_epoch=60)
    hook.t -= 1.0  # the iteration took ~1 s
    hook._after_iter(runner, batch_idx=9, mode='train')
    avg = hook.time_sec_tot / 251
    eta = runner.message_hub.get_info('eta')
    # the 50 iterations left in this epoch + one more epoch of 60
    assert abs(eta - avg * (50 + 60)) < 1e-6 and eta > 0
