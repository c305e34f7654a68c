# Databricks notebook source
# MAGIC %md
# MAGIC # MLflow を使用した実験の追跡
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC ## 実験を実行する
# MAGIC この演習では、NYC タクシーのデータセットを使用して、ニューヨーク市タクシー・リムジン委員会 (NYC Taxi & Limousine Commission) のグリーン タクシーの乗車記録の一部から、タクシー乗車の合計料金を予測するモデルをトレーニングします。1 つの線形回帰モデルの **ハイパーパラメーター** を変えながら複数のバリエーションをトレーニングし、より良いパフォーマンスを目指します。
# MAGIC
# MAGIC MLflow を使用して、各試行のパラメーター、メトリック、モデル、プロットをログに記録します。MLflow では **実験** を作成します。実験は **実行** の集まりで、1 つの実行が 1 回のトレーニングの試行です。ここでは、同じアルゴリズムとデータに対して実行ごとに異なるハイパーパラメーターを試すので、どれが最も良い結果になるかを比較できます。
# MAGIC
# MAGIC ### コンピューティングを選ぶ
# MAGIC このノートブックを **サーバーレス** コンピューティング (Databricks Free Edition にはサーバーレスしかありません) にアタッチし、サーバーレス環境バージョン 5 (標準の基本環境。MLflow 3.8.1 が含まれています) を使います。依存関係を 2 つ、`scikit-learn` と `matplotlib` をバージョンを指定せずに追加します (環境にすでにある場合、pip はそのまま使います)。この設定は、ノートブックごとに **[環境]** サイド パネルで行います。または、**Databricks Runtime for Machine Learning** (LTS の ML ランタイム: 15.4、16.4、17.3、または 18) を実行しているクラスターに、どちらのアクセス モードでもアタッチできます。ML ランタイムには MLflow、scikit-learn、pandas、matplotlib が含まれています。
# MAGIC
# MAGIC 次のセルでは、ラボのセットアップ ノートブックを実行します。このノートブックは `load_trips()` といくつかのヘルパー関数を定義します。

# COMMAND ----------

# DBTITLE 1,ラボのセットアップ ノートブックを実行する
# MAGIC %run ./includes/setup

# COMMAND ----------

# DBTITLE 1,ライブラリをインポートする
import os
import tempfile
import uuid
from datetime import datetime, timezone

import matplotlib.pyplot as plt
import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

print(f"Loaded libraries: MLflow {mlflow.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### パラメーター
# MAGIC 既定値を使用するには、2 つのパラメーターを空欄のままにします。`data_path` は乗車データの CSV ファイル (空欄: ラボのデータ)、`experiment_name` は実行を受け取る MLflow の実験です。
# MAGIC
# MAGIC 実験は実行を保持し続けます。このノートブックをもう一度実行すると、実験にはすべてのセッションの実行が含まれます。そこでこのセルは、ノートブックのこのセッションを表す ID `lab_session` も作成し、このセッションで開始するすべての実行にその ID をタグとして付けます。後で、このタグを使ってこのセッションの実行を選び出します。

# COMMAND ----------

# DBTITLE 1,パラメーター: データと実験
dbutils.widgets.text("data_path", "", "Trips CSV (blank: the lab's data)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")

data_path = dbutils.widgets.get("data_path")
experiment_name = dbutils.widgets.get("experiment_name") or default_experiment_name()

# Every run this notebook starts goes to this experiment; it is created if it does not exist yet.
experiment = mlflow.set_experiment(experiment_name)
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")

# The time this session started, and a few random characters in case two sessions start in the same second.
lab_session = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
print(f"Lab session: {lab_session}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## トレーニング データを読み込む
# MAGIC 各行は 1 回のタクシー乗車で、乗客数、乗車距離、時刻、曜日と月、祝日と天候の情報、そしてモデルが予測する乗車の合計金額が含まれます。次のセルを実行して、データを pandas DataFrame に読み込んで確認します。**SYNTHETIC** と表示された場合、後で表示される数値は実際のデータで実行した場合とは異なります。

# COMMAND ----------

# DBTITLE 1,データを読み込む
trips, trips_source = load_trips(data_path)
print(f"Loaded {len(trips):,} trips from {trips_source}")
display(trips)

# COMMAND ----------

# MAGIC %md
# MAGIC ### データの特徴量を作成する
# MAGIC 次のセルは、コースの前のラボと同じようにデータを準備します。`hour_of_day` は、23:00 と 00:00 が近くなるように正弦と余弦に変換します。欠損している `passengerCount` は中央値で補います。数値の列は [0, 1] にスケーリングし、カテゴリの列はワンホット エンコードします。これらの手順はモデルの一部になります。データは、固定のシードで、トレーニング用に 70%、テスト用に 30% に分割します。

# COMMAND ----------

# DBTITLE 1,特徴量を作成して分割する
features = trips.dropna(subset=["totalAmount"]).copy()

features["hour_sine"] = np.sin(features["hour_of_day"] * (2.0 * np.pi / 24))
features["hour_cosine"] = np.cos(features["hour_of_day"] * (2.0 * np.pi / 24))
features = features.drop(columns=["hour_of_day"])

features["isPaidTimeOff"] = features["isPaidTimeOff"].astype(int)
# A trip on no holiday has no holiday name; call that category "None", as the course's table does.
features["normalizeHolidayName"] = features["normalizeHolidayName"].fillna("None")

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols

# Whole numbers become floats: MLflow records the model's input columns and types (its signature), and a
# column of integers could not take a missing value at prediction time.
number_cols = [column for column in feature_columns if column != "normalizeHolidayName"]
features[number_cols] = features[number_cols].astype(float)

featurizer = ColumnTransformer([
    ("numerical", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]),
     numerical_cols),
    ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_cols),
])

train_df, test_df = train_test_split(features, test_size=0.3, random_state=97)
print(f"Created datasets: {len(train_df):,} training rows, {len(test_df):,} test rows")

# COMMAND ----------

# MAGIC %md
# MAGIC ### 回帰の品質をプロットする
# MAGIC この関数は、テスト セットの各乗車を、実際の料金 (x) と予測した料金 (y) の位置に赤い点として対数軸上に描きます。完璧なモデルなら、すべての点が青い対角線上に並びます。関数はプロットを PNG ファイルとして保存し、トレーニング関数がそのファイルを MLflow でログに記録します。

# COMMAND ----------

# DBTITLE 1,プロット関数
def plot_regression_quality(actual, predicted, png_path):
    figure, axes = plt.subplots(figsize=(8, 8))
    axes.scatter(actual, predicted, c="crimson", s=6, alpha=0.5)
    axes.set_xscale("log")
    axes.set_yscale("log")

    # Log axes show positive values only; the diagonal spans the positive range of both.
    values = np.concatenate([np.asarray(actual), np.asarray(predicted)])
    low, high = values[values > 0].min(), values.max()
    axes.plot([low, high], [low, high], "b-")
    axes.set_xlabel("True values", fontsize=15)
    axes.set_ylabel("Predictions", fontsize=15)

    figure.savefig(png_path)
    plt.close(figure)
    return figure

# COMMAND ----------

# MAGIC %md
# MAGIC ### MLflow の実行を作成する
# MAGIC 次の関数は、`train_df` で線形回帰モデルをトレーニングし、`test_df` で評価します。呼び出しのたびに 3 つのハイパーパラメーターを設定します。名前は、このラボの元のバージョンが使用していた Spark ML の `LinearRegression` に合わせています。
# MAGIC - `elastic_net_param`: ElasticNet の混合パラメーター。0 は純粋な L2 ペナルティ (リッジ)、1 は純粋な L1 ペナルティ (ラッソ) です。
# MAGIC - `reg_param`: そのペナルティ (正則化) の強さ。0 はペナルティなし、つまり通常の最小二乗法で、scikit-learn の `LinearRegression` が閉形式で解きます。それ以外の場合、モデルは `ElasticNet` です。
# MAGIC - `max_iter`: ソルバーが行える反復の最大回数。
# MAGIC
# MAGIC 関数は 1 つの MLflow の実行の中で、次のものを記録します。
# MAGIC * タグ `lab_session` (`mlflow.start_run` に渡し、実行がこのセッションのものであることを示します)
# MAGIC * パラメーター (`mlflow.log_params` を使用)
# MAGIC * メトリック RMSE、MAE、R² (`mlflow.log_metrics` を使用)
# MAGIC * モデル (`mlflow.sklearn.log_model` を使用)
# MAGIC * 任意のファイル。ここでは、予測金額と実際の金額のプロット (`mlflow.log_artifact` を使用)
# MAGIC
# MAGIC **ヒント:** 新しい MLflow の実行を作成するには `with mlflow.start_run():` を使用します。これは、ノートブックのセルで MLflow を使用するときに推奨される方法です。コードが完了しても失敗しても `with` ブロックが実行を終了するため、`mlflow.end_run()` を呼び出す必要はありません。

# COMMAND ----------

# DBTITLE 1,トレーニング関数
# The model's name, "model", as this MLflow release takes it, and the packages it needs (see the setup notebook).
model_options = sklearn_model_options()


def eval_metrics(actual, predicted):
    rmse = float(np.sqrt(mean_squared_error(actual, predicted)))
    mae = float(mean_absolute_error(actual, predicted))
    r2 = float(r2_score(actual, predicted))
    return rmse, mae, r2


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)  # before a run is started for them
    if reg_param == 0:
        regression = LinearRegression()
    else:
        regression = ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)
    # StandardScaler: the penalty weighs all features alike, as Spark's standardization makes it
    model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                      ("regression", regression)])

    # Start an MLflow run tagged with this session; the "with" keyword ensures we'll close the run even if
    # this cell crashes
    with mlflow.start_run(tags={"lab_session": lab_session}) as run:
        model.fit(train_df[feature_columns], train_df[label_column])
        predictions = model.predict(test_df[feature_columns])
        (rmse, mae, r2) = eval_metrics(test_df[label_column], predictions)

        # Print out model metrics
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}):")
        if reg_param == 0:
            print("  solved in closed form (ordinary least squares); max_iter does not apply")
        else:
            print(f"  the solver took {regression.n_iter_} of at most {max_iter} iterations")
        print(f"  RMSE: {rmse:.4f}")
        print(f"  MAE:  {mae:.4f}")
        print(f"  R2:   {r2:.4f}")

        # Log hyperparameters and evaluation metrics for the MLflow UI
        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model itself, with the input columns and output it expects (its signature)
        signature = infer_signature(test_df[feature_columns], predictions)
        mlflow.sklearn.log_model(model, signature=signature, **model_options)

        # Generate a plot and log it (an artifact: any file you want to keep with the run)
        png_path = os.path.join(tempfile.mkdtemp(), "LinearRegressionPrediction.png")
        figure = plot_regression_quality(test_df[label_column], predictions, png_path)
        mlflow.log_artifact(png_path)

    return {"run_id": run.info.run_id, "rmse": rmse, "mae": mae, "r2": r2,
            "predictions": predictions, "figure": figure}

# COMMAND ----------

# MAGIC %md
# MAGIC ## さまざまなパラメーターで試す
# MAGIC さまざまなパラメーターで `train_nyc_taxi` を呼び出します。後で、これらの各実行を MLflow の実験で確認します。最初の実行はペナルティをまったく使用しない (`reg_param = 0`) ため、通常の最小二乗法になり、`max_iter = 1` は制限になりません。

# COMMAND ----------

# DBTITLE 1,実行 1: 最小二乗法
# No penalty (regularization parameter 0.0): least squares in closed form, so max_iter = 1 does not apply
run_1 = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC R² は、テスト データにおける合計金額の分散のうち、モデルが説明できる割合です (1 なら完璧です)。RMSE と MAE は、予測がドル単位でどれだけずれているかを見積もります。RMSE は、MAE よりも大きく外れた値に大きなペナルティを与えます。次のセルは、この実行の数値を文章で示し、そのプロットを表示します。赤い点が青い線に近いほど、良いモデルです。

# COMMAND ----------

print(f"The model explains {run_1['r2']:.0%} of the variance of totalAmount in the test data.")
print(f"Its predictions are off by ${run_1['mae']:.2f} on average (MAE); RMSE is ${run_1['rmse']:.2f}.")
display(run_1["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ハイパーパラメーターの組み合わせを変えてモデルを試すのは、関数への入力を変えるだけで簡単にできます。この実行では、強さ 0.3 の純粋な L1 ペナルティ (`elastic_net_param = 1.0`) を使用し、ソルバーに 50 回の反復を許可します。それまでにソルバーが収束しなかった場合、scikit-learn は `ConvergenceWarning` でそのことを知らせます。その場合でも、モデルはトレーニングされてログに記録されます。

# COMMAND ----------

# DBTITLE 1,実行 2: L1 ペナルティ
# L1 penalty, regularization parameter 0.3, at most 50 iterations
run_2 = train_nyc_taxi(train_df, test_df, label_column, 1.0, 0.3, 50)

# COMMAND ----------

# MAGIC %md
# MAGIC 最初の実行と比べてどうでしょうか。RMSE と MAE は低いほど、R² は高いほど良い結果です。次のセルでは、テスト セットの乗車のうち最も安い 4 分の 1 (プロットの左下の隅) について、各モデルが実際の料金より高く予測した割合も数えます。この割合が大半を占めるモデルは、安い乗車で料金を高めに見積もる傾向があります。

# COMMAND ----------

# DBTITLE 1,実行 1 と 2 を比較する
compare_runs(run_2, run_1, "run 2", "run 1")
for name, result in [("run 1", run_1), ("run 2", run_2)]:
    share = share_predicted_high_on_cheap_rides(result["predictions"], test_df[label_column])
    print(f"{name}: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_2["figure"])

# COMMAND ----------

# DBTITLE 1,実行 3: L1 と L2 の混合
# 50/50 mixed L1 and L2, regularization parameter 0.9, at most 1000 iterations
run_3 = train_nyc_taxi(train_df, test_df, label_column, 0.5, 0.9, 1000)

# COMMAND ----------

# DBTITLE 1,実行 3 を比較する
compare_runs(run_3, run_1, "run 3", "run 1")
compare_runs(run_3, run_2, "run 3", "run 2")
share = share_predicted_high_on_cheap_rides(run_3["predictions"], test_df[label_column])
print(f"run 3: predicted more than the actual fare for {share:.0%} of the cheapest quarter of rides")
display(run_3["figure"])

# COMMAND ----------

# MAGIC %md
# MAGIC ## 実験のメトリックを確認する
# MAGIC
# MAGIC これで、この情報は MLflow 追跡サーバーに保存されました。ユーザー インターフェイスで確認します。
# MAGIC
# MAGIC 1. ノートブックの右側のサイド パネルで **[実験]** アイコン (フラスコ) を選択します。パネルには、このノートブックの実験の実行が、パラメーターとメトリックと共に一覧表示されます。このセッションの 3 つの実行 (最も新しい 3 つ) を比較してください。RMSE が最も低いのはどの実行でしょうか。
# MAGIC 1. 実行の名前を選択して、その **実行の詳細ページ** を開きます。パラメーター、メトリック、タグ (その 1 つが `lab_session`)、**成果物** が表示されます。成果物は、プロット `LinearRegressionPrediction.png` と、MLflow 2 ではモデルの `model` フォルダーです (MLflow 3 では、モデルは **[ログに記録されたモデル]** に一覧表示されます)。
# MAGIC 1. 実験のページでこのセッションの 3 つの実行を選択し、**[比較]** を選択すると、パラメーターとメトリックを並べて比較できます。
# MAGIC
# MAGIC Databricks の外でラボを実行していますか。ラボ ガイド `docs/lab-guide.ja.md` で、MLflow の UI で同じ画面を確認する方法を説明しています。
# MAGIC
# MAGIC ### プログラムで実験、実行、および実行の詳細を表示する
# MAGIC
# MAGIC `MlflowClient` を使用して、コードから実験の詳細を取得することもできます。まず、表示できる実験を `last_update_time` の新しいものから順に一覧表示します。名前に反して、この時刻は実行がログに記録されても変わりません。変わるのは、実験の名前が変更されたとき、削除されたとき、または復元されたときだけです。

# COMMAND ----------

# DBTITLE 1,実験を一覧表示する
from mlflow.tracking import MlflowClient

client = MlflowClient()
experiments = client.search_experiments(order_by=["last_update_time DESC"], max_results=10)
for listed in experiments:
    last_update = datetime.fromtimestamp(listed.last_update_time / 1000, timezone.utc)
    print(f"{listed.experiment_id:>20}  last update {last_update:%Y-%m-%d %H:%M:%S} UTC  {listed.name}")

# COMMAND ----------

# MAGIC %md
# MAGIC このラボの実験は、一覧内の位置ではなく、フィルターを使って名前で選びます。次に、`mlflow.search_runs` が、すべてのセッションの実行を pandas DataFrame として返します。1 行が 1 つの実行で、ログに記録されたメトリック (`metrics.*`)、パラメーター (`params.*`)、タグ (`tags.*`) が含まれます。その次のセルは、このセッションの実行だけを残します。`filter_string` は、`lab_session` タグがこのセッションのものである実行を選びます。

# COMMAND ----------

# DBTITLE 1,このラボの実験の実行
[lab_experiment] = client.search_experiments(filter_string=f"name = {quoted(experiment.name)}")
experiment_id = lab_experiment.experiment_id
runs_df = mlflow.search_runs([experiment_id])

print(f"Experiment {experiment_name} holds {len(runs_df)} runs")
display(runs_df)

# COMMAND ----------

# DBTITLE 1,このセッションの実行
session_runs_df = mlflow.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                                     order_by=["attributes.start_time ASC"])

print(f"Session {lab_session} logged {len(session_runs_df)} of the experiment's {len(runs_df)} runs")
display(session_runs_df[["run_id", "tags.mlflow.runName", "params.elastic_net_param", "params.reg_param",
                         "params.max_iter", "metrics.rmse", "metrics.mae", "metrics.r2"]])

# COMMAND ----------

# MAGIC %md
# MAGIC 次に、この実験の最後の実行 (開始時刻が最も新しいもの) を取得します。このノートブックを上から順に実行した場合、それはこのセッションの 3 つ目の実行です。`data.metrics` には、その実行のメトリックが含まれます。

# COMMAND ----------

# DBTITLE 1,最新の実行のメトリック
runs = client.search_runs([experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
last_run = runs[0]
print(f"Latest run: {last_run.info.run_name} (run id {last_run.info.run_id})")
last_run.data.metrics

# COMMAND ----------

# MAGIC %md
# MAGIC 実行がログに記録したモデルを読み込んで使用することもできます。`runs:/<run_id>/model` は、実行が `model` としてログに記録したモデルを指します。モデルには特徴量の作成が含まれているので、`test_df` の列をそのまま受け取ります。最新の実行のモデルを読み込み、テスト セットの最初の 3 件の乗車の料金を予測してみましょう。

# COMMAND ----------

# DBTITLE 1,モデルを読み込んで予測する
loaded_model = mlflow.sklearn.load_model(f"runs:/{last_run.info.run_id}/model")
top_rows = test_df.head(3)
display(top_rows.assign(prediction=loaded_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC 最新の実行は最後にトレーニングした実行であり、最も良い予測をする実行とは限りません。最も良い実行を見つけるには、このセッションの実行を RMSE の低い順に並べて取得し、最初の実行を選びます。次に、そのモデルを同じ方法で読み込み、同じ 3 件の乗車の料金を予測します。

# COMMAND ----------

# DBTITLE 1,このセッションの最良の実行
best_run = client.search_runs([experiment_id], filter_string=f"tags.lab_session = '{lab_session}'",
                              order_by=["metrics.rmse ASC"], max_results=1)[0]

print(f"Best run of this session: {best_run.info.run_name} (run id {best_run.info.run_id})")
print(f"  parameters: {best_run.data.params}")
print(f"  RMSE {best_run.data.metrics['rmse']:.4f}; the latest run, {last_run.info.run_name}, "
      f"has RMSE {last_run.data.metrics['rmse']:.4f}")

# COMMAND ----------

# DBTITLE 1,最良のモデルを読み込んで予測する
best_model_uri = f"runs:/{best_run.info.run_id}/model"
best_model = mlflow.sklearn.load_model(best_model_uri)
print(f"Loaded {best_model_uri}")
display(top_rows.assign(prediction=best_model.predict(top_rows[feature_columns])))

# COMMAND ----------

# MAGIC %md
# MAGIC ## クリーンアップ
# MAGIC
# MAGIC 実行は次の演習のために実験に残しておきます。コースを終えたら、**[実験]** ページから実験を削除し、このラボのためにクラスターを起動した場合は **[コンピューティング]** ページでそのクラスターを終了します。

# COMMAND ----------

# MAGIC %md
# MAGIC ## さらに詳しく
# MAGIC
# MAGIC ### Spark の結果とどのくらい近いか
# MAGIC
# MAGIC コースの元のラボは Spark ML の `LinearRegression` を使用していました。このノートブックは、MLflow がログに記録するパラメーターが scikit-learn の使用した値そのものになるように、そのハイパーパラメーターを scikit-learn に直接対応させています。この移植は近似です。Spark は当てはめの間、ラベルをその標準偏差 `std(label)` で割ります。そのため、ペナルティの L1 の部分は scikit-learn と同じですが、L2 の部分は `std(label)` で割られます。したがって、実行 2 (純粋な L1) は Spark の結果に近く、実行 3 では、ペナルティの L2 の半分がここでは約 `std(label)` 倍強くなります。次のセルは、Spark と同じようにペナルティをスケーリングして (セットアップ ノートブックの `spark_like_penalty`)、実行 3 のモデルをもう一度当てはめます。MLflow の実行は開始しません。ラボの Spark ML 版のノートブックは、3 つの実行を Spark そのものでトレーニングします。

# COMMAND ----------

# DBTITLE 1,実行 3 (Spark 方式でペナルティをスケーリング)
label_std = float(train_df[label_column].std())
alpha, l1_ratio = spark_like_penalty(elastic_net_param=0.5, reg_param=0.9, label_std=label_std)
spark_like_model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                             ("regression", ElasticNet(l1_ratio=l1_ratio, alpha=alpha, max_iter=1000))])
spark_like_model.fit(train_df[feature_columns], train_df[label_column])
spark_like_r2 = r2_score(test_df[label_column], spark_like_model.predict(test_df[feature_columns]))

print(f"Standard deviation of {label_column} in the training data: {label_std:.2f}")
print(f"Run 3 as logged:             ElasticNet(l1_ratio=0.5, alpha=0.9), R2 {run_3['r2']:.4f}")
print(f"Run 3 with Spark's scaling:  ElasticNet(l1_ratio={l1_ratio:.3f}, alpha={alpha:.3f}), R2 {spark_like_r2:.4f}")

# COMMAND ----------

# MAGIC %md
# MAGIC 最後の 2 つのセルはジョブ用です。このノートブックを実行するジョブに、このセッションの 3 つの実行を返します。

# COMMAND ----------

# MAGIC %run ./includes/job_summary

# COMMAND ----------

# DBTITLE 1,ジョブに概要を返す
# When a job runs this notebook (deploy.py run --runtime, the bundle's lab_matrix job), this summary is the
# task's output: the library versions of this runtime and the three runs above with their metrics.
dbutils.notebook.exit(lab_summary([run_1["run_id"], run_2["run_id"], run_3["run_id"]]))
